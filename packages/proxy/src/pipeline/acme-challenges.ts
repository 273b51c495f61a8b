import type { SecureContext } from 'node:tls';
import { nodeTls } from '../lazy-modules.ts';
import type { LocalReply } from './local-reply.ts';

/** ACME_CHALLENGE_PREFIX is where RFC 8555's HTTP-01 validation asks for a token (section 8.3). */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

/** ACME_TLS_ALPN is the ALPN protocol of RFC 8737's TLS-ALPN-01 validation. */
export const ACME_TLS_ALPN = 'acme-tls/1';

/**
 * AcmeChallenges holds the answers Portico gives while an ACME order is being validated. HTTP-01 (token to
 * key authorization) is answered before any listener filter, route or redirect, on every HTTP listener,
 * as the CA's validator expects; a token not held falls through to the routes as any path. TLS-ALPN-01
 * (host to its self-signed challenge certificate) is answered on every `https` listener to a ClientHello
 * that offers `acme-tls/1` for that host; other handshakes are not touched.
 */
export class AcmeChallenges {
  readonly #answers = new Map<string, string>();
  readonly #alpn = new Map<string, SecureContext>();

  /** size is how many tokens are held; 0 makes the check one comparison per request. */
  get size(): number {
    return this.#answers.size;
  }

  set(token: string, keyAuthorization: string): void {
    this.#answers.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.#answers.delete(token);
  }

  /** tlsAlpnSize is how many TLS-ALPN-01 certificates are held; while 0, no ClientHello is read ahead. */
  get tlsAlpnSize(): number {
    return this.#alpn.size;
  }

  /** setTlsAlpn holds the challenge certificate and key (PEM) for `host` (RFC 8737 section 3). */
  setTlsAlpn(host: string, cert: string, key: string): void {
    this.#alpn.set(host.toLowerCase(), nodeTls().createSecureContext({ cert, key }));
  }

  deleteTlsAlpn(host: string): void {
    this.#alpn.delete(host.toLowerCase());
  }

  holdsTlsAlpn(host: string): boolean {
    return this.#alpn.has(host.toLowerCase());
  }

  /** clear forgets every answer (a worker told the whole set again). */
  clear(): void {
    this.#answers.clear();
    this.#alpn.clear();
  }

  /** tlsAlpnContext returns the challenge certificate for `host`, or undefined when none is held. */
  tlsAlpnContext(host: string): SecureContext | undefined {
    return this.#alpn.get(host.toLowerCase());
  }

  /** reply answers `GET /.well-known/acme-challenge/<token>` for a token held, or returns undefined. */
  reply(method: string, path: string): LocalReply | undefined {
    if (!path.startsWith(ACME_CHALLENGE_PREFIX) || (method !== 'GET' && method !== 'HEAD')) return undefined;
    const answer = this.#answers.get(path.slice(ACME_CHALLENGE_PREFIX.length));
    if (answer === undefined) return undefined;
    return { status: 200, fields: ['content-type', 'text/plain', 'cache-control', 'no-store'], body: answer };
  }
}
