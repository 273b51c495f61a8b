import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tlsModule: typeof import('node:tls') | undefined;
let http2Module: typeof import('node:http2') | undefined;
let undiciModule: typeof import('undici') | undefined;

/**
 * nodeTls loads `node:tls` the first time the proxy needs it (an `https` listener, upstream TLS, a
 * certificate): about 7 MiB resident that a plain-HTTP proxy never pays.
 */
export function nodeTls(): typeof import('node:tls') {
  tlsModule ??= require('node:tls') as typeof import('node:tls');
  return tlsModule;
}

/**
 * http2 loads `node:http2` the first time the proxy needs it (a client or an upstream speaking HTTP/2):
 * about 6 MiB resident beyond `node:tls`.
 */
export function http2(): typeof import('node:http2') {
  http2Module ??= require('node:http2') as typeof import('node:http2');
  return http2Module;
}

/**
 * undici loads the HTTP client (about 110 modules, 110 ms) the first time the proxy needs it: active
 * health checks, forward auth, error pages rendered by a URL, OCSP fetches. A proxy that uses none never
 * loads it.
 */
export function undici(): typeof import('undici') {
  undiciModule ??= require('undici') as typeof import('undici');
  return undiciModule;
}
