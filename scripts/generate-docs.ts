import { writeFileSync } from 'node:fs';
import { renderConfigReference, renderSchema } from './docs-renderers.ts';

/** Writes the files generated from the code: the JSON Schema and the config reference. */
const root = new URL('../', import.meta.url);
writeFileSync(new URL('schema/portico.schema.json', root), renderSchema());
writeFileSync(new URL('docs/config.md', root), renderConfigReference());
console.log('wrote schema/portico.schema.json and docs/config.md');
