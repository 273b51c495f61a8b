import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_ERROR_CODES, renderConfigValidator } from '@portico/config';
import { DISCOVERY_ERROR_CODES, KUBERNETES_ISSUE_CODES } from '@portico/discovery';
import { PROXY_ERROR_CODES, TLS_ISSUE_CODES } from '@portico/proxy';
import { ROUTE_ISSUE_CODES } from '@portico/router';
import { renderConfigReference, renderSchema, withAnnotationTable } from '../scripts/docs-renderers.ts';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory())
      return name === 'node_modules' || name === 'dist' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('docs stay true to the code', () => {
  it('docs/errors.md lists exactly the error codes the packages define', () => {
    const defined = new Set([
      ...Object.keys(CONFIG_ERROR_CODES),
      ...Object.keys(DISCOVERY_ERROR_CODES),
      ...Object.keys(KUBERNETES_ISSUE_CODES),
      ...Object.keys(PROXY_ERROR_CODES),
      ...Object.keys(ROUTE_ISSUE_CODES),
      ...Object.keys(TLS_ISSUE_CODES),
    ]);
    const documented = new Set(
      [...read('docs/errors.md').matchAll(/`(PORTICO_[A-Z_]+)`/g)].map((m) => m[1]!),
    );
    assert.deepEqual(
      [...documented].filter((c) => !defined.has(c)),
      [],
      'documented but not defined',
    );
    assert.deepEqual(
      [...defined].filter((c) => !documented.has(c)),
      [],
      'defined but not documented',
    );
  });

  it('every PORTICO_ code used in the source is a defined one', () => {
    const defined = new Set([
      ...Object.keys(CONFIG_ERROR_CODES),
      ...Object.keys(DISCOVERY_ERROR_CODES),
      ...Object.keys(KUBERNETES_ISSUE_CODES),
      ...Object.keys(PROXY_ERROR_CODES),
      ...Object.keys(ROUTE_ISSUE_CODES),
      ...Object.keys(TLS_ISSUE_CODES),
    ]);
    const used = new Set<string>();
    for (const file of sourceFiles(new URL('packages', root).pathname)) {
      if (!file.includes('/src/')) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(/'(PORTICO_[A-Z_]+)'/g)) used.add(m[1]!);
    }
    assert.deepEqual(
      [...used].filter((c) => !defined.has(c)),
      [],
    );
  });

  it('the proxy error table states the status each code answers with', () => {
    const doc = read('docs/errors.md');
    for (const [code, { status, source }] of Object.entries(PROXY_ERROR_CODES)) {
      assert.match(
        doc,
        new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|\\s*${source}\\s*\\|`),
        code,
      );
    }
  });

  it('docs/config.md and schema/portico.schema.json are generated from the current schema (pnpm docs:generate)', () => {
    assert.equal(read('docs/config.md'), renderConfigReference());
    assert.equal(read('schema/portico.schema.json'), renderSchema());
  });

  it('the portico package ships the demo config of examples/static (pnpm docs:generate)', () => {
    assert.equal(read('packages/cli/demo/portico.yaml'), read('examples/static/portico.yaml'));
  });

  it('the precompiled config validator is compiled from the current schema (pnpm docs:generate)', async () => {
    assert.ok(
      read('packages/config/src/generated/config-validator.ts') === (await renderConfigValidator()),
      'packages/config/src/generated/config-validator.ts is stale: run pnpm docs:generate',
    );
  });

  it('docs/migrate-from-ingress-nginx.md has the annotation table the translation uses (pnpm docs:generate)', () => {
    const doc = read('docs/migrate-from-ingress-nginx.md');
    assert.equal(doc, withAnnotationTable(doc));
  });
});
