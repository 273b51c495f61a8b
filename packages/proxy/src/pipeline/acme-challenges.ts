import type { LocalReply } from './local-reply.ts';

/** ACME_CHALLENGE_PREFIX is where RFC 8555's HTTP-01 validation asks for a token (section 8.3). */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

/**
 * AcmeChallenges holds the HTTP-01 answers Portico gives while an ACME order is being validated: token to
 * key authorization. They are answered before any listener filter, route or redirect, on every HTTP
 * listener, as the CA's validator expects; a token not held falls through to the routes as any path.
 */
export class AcmeChallenges {
  readonly #answers = new Map<string, string>();

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

  /** reply answers `GET /.well-known/acme-challenge/<token>` for a token held, or returns undefined. */
  reply(method: string, path: string): LocalReply | undefined {
    if (!path.startsWith(ACME_CHALLENGE_PREFIX) || (method !== 'GET' && method !== 'HEAD')) return undefined;
    const answer = this.#answers.get(path.slice(ACME_CHALLENGE_PREFIX.length));
    if (answer === undefined) return undefined;
    return { status: 200, fields: ['content-type', 'text/plain', 'cache-control', 'no-store'], body: answer };
  }
}
