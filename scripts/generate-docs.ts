import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigValidator } from '@portico/config';
import { renderConfigReference, renderSchema, withAnnotationTable } from './docs-renderers.ts';

/**
 * Writes the files generated from the code: the JSON Schema, the precompiled validator, the config
 * reference, the annotation table.
 */
const root = new URL('../', import.meta.url);
writeFileSync(new URL('schema/portico.schema.json', root), renderSchema());
writeFileSync(
  new URL('packages/config/src/generated/config-validator.ts', root),
  await renderConfigValidator(),
);
writeFileSync(new URL('docs/config.md', root), renderConfigReference());
// The demo config the `portico` package ships (for `portico demo` outside a checkout).
writeFileSync(
  new URL('packages/cli/demo/portico.yaml', root),
  readFileSync(new URL('examples/static/portico.yaml', root)),
);
const migrate = new URL('docs/migrate-from-ingress-nginx.md', root);
writeFileSync(migrate, withAnnotationTable(readFileSync(migrate, 'utf8')));
console.log(
  'wrote schema/portico.schema.json, the precompiled config validator, docs/config.md and the annotation table of docs/migrate-from-ingress-nginx.md',
);
