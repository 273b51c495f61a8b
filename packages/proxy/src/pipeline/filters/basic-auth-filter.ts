import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type BasicAuthConfig, htpasswdProblem } from '@portico/config';
import { LRUCache } from 'lru-cache';
import type { Filter, FilterExchange } from '../filter.ts';
import type { LocalReply } from '../local-reply.ts';

const load = createRequire(import.meta.url);
/** hashers loads bcryptjs and apache-md5 (Apache's apr1 MD5 crypt) the first time a password is checked. */
let hashers:
  | {
      bcrypt: { compareSync(password: string, hash: string): boolean };
      aprMd5: (password: string, salt: string) => string;
    }
  | undefined;
function hasher() {
  hashers ??= { bcrypt: load('bcryptjs'), aprMd5: load('apache-md5') };
  return hashers;
}

/** VERIFIED_TTL_MS is how long a verified user and password skip bcrypt (which costs tens of ms). */
const VERIFIED_TTL_MS = 60_000;

/**
 * BasicAuthFilter asks for HTTP Basic credentials (RFC 7617) on its route (`routes[].basicAuth`) and
 * checks them against htpasswd entries: bcrypt (`$2y$`, `$2a$`, `$2b$`), Apache's apr1 MD5 (`$apr1$`)
 * and SHA-1 (`{SHA}`), as ingress-nginx and Apache accept. Without valid credentials the answer is 401
 * with `WWW-Authenticate: Basic realm="..."`, and the request goes nowhere. Comparisons are constant-time;
 * a verified pair is remembered for a minute by a keyed digest (never in clear), so bcrypt is not paid
 * per request. The file is read when the config is applied (an unreadable one fails the apply).
 */
export class BasicAuthFilter implements Filter {
  readonly name = 'basic-auth';
  readonly #users: ReadonlyMap<string, string>;
  readonly #challenge: LocalReply;
  readonly #key = randomBytes(32);
  readonly #verified = new LRUCache<string, true>({ max: 10_000, ttl: VERIFIED_TTL_MS });

  constructor(auth: BasicAuthConfig) {
    const lines =
      auth.users ??
      readFileSync(auth.htpasswdFile!, 'utf8')
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'));
    const users = new Map<string, string>();
    lines.forEach((line, i) => {
      const problem = htpasswdProblem(line);
      if (problem !== undefined)
        throw new Error(`${auth.htpasswdFile ?? 'basicAuth.users'} line ${i + 1} ${problem}`);
      const colon = line.indexOf(':');
      users.set(line.slice(0, colon), line.slice(colon + 1));
    });
    this.#users = users;
    this.#challenge = {
      status: 401,
      fields: [
        'www-authenticate',
        `Basic realm="${auth.realm}", charset="UTF-8"`,
        'content-type',
        'text/plain; charset=utf-8',
      ],
      body: 'authentication required\n',
      refusal: 'unauthorized',
    };
  }

  request(exchange: FilterExchange): LocalReply | undefined {
    const credentials = decode(exchange.header('authorization'));
    return credentials !== undefined && this.verify(credentials.user, credentials.password)
      ? undefined
      : this.#challenge;
  }

  /** verify tells whether `password` is `user`'s. */
  verify(user: string, password: string): boolean {
    const hash = this.#users.get(user);
    if (hash === undefined) return false;
    const digest = createHash('sha256')
      .update(this.#key)
      .update(user)
      .update('\0')
      .update(password)
      .digest('base64');
    if (this.#verified.has(digest)) return true;
    let ok: boolean;
    if (hash.startsWith('$2')) ok = hasher().bcrypt.compareSync(password, hash);
    else if (hash.startsWith('$apr1$')) ok = same(hasher().aprMd5(password, hash), hash);
    else ok = same(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash);
    if (ok) this.#verified.set(digest, true);
    return ok;
  }
}

/** decode reads `Basic <base64 user:password>`, or undefined when it is not that. */
function decode(authorization: string | undefined): { user: string; password: string } | undefined {
  if (authorization === undefined || !/^basic /i.test(authorization)) return undefined;
  const text = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** same compares two strings in time that does not depend on where they differ. */
function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
