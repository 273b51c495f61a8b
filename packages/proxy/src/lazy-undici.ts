import { createRequire } from 'node:module';

let loaded: typeof import('undici') | undefined;

/**
 * undici loads the HTTP client (about 110 modules, 110 ms) the first time the proxy needs it: active
 * health checks, forward auth, error pages rendered by a URL. A proxy that uses none never loads it.
 */
export function undici(): typeof import('undici') {
  loaded ??= createRequire(import.meta.url)('undici') as typeof import('undici');
  return loaded;
}
