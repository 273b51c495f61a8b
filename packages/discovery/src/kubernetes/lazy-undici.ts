import { createRequire } from 'node:module';

let loaded: typeof import('undici') | undefined;

/**
 * undici loads the HTTP client (about 110 modules, 110 ms) when the Kubernetes client is made: a
 * `portico run --config` never loads it for discovery.
 */
export function undici(): typeof import('undici') {
  loaded ??= createRequire(import.meta.url)('undici') as typeof import('undici');
  return loaded;
}
