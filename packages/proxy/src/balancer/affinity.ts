import { createHmac, randomBytes } from 'node:crypto';
import type { AffinityConfig } from '@portico/config';
import { LRUCache } from 'lru-cache';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { fastHash } from './hash.ts';
import type { RequestKeys } from './request-keys.ts';
import type { Available, Member } from './selector.ts';

/** Pick is an affinity decision: the endpoint, and the cookie to set when the client must be (re)pinned. */
export interface Pick {
  readonly endpoint: EndpointState | undefined;
  readonly setCookie: string | undefined;
}

/** Fallback is the service's balancing policy, used when a client is not pinned (or its pin is stale). */
export type Fallback = (exclude: readonly EndpointState[]) => EndpointState | undefined;

/**
 * Affinity keeps a client on one endpoint. It wraps the service's policy: a valid pin to an available
 * endpoint wins; anything else falls back to the policy and pins the client to what it picked.
 */
export interface Affinity {
  pick(keys: RequestKeys, exclude: readonly EndpointState[], available: Available, fallback: Fallback): Pick;
}

/** PROCESS_SECRET signs affinity cookies when the config gives no secret: stable for this process only. */
const PROCESS_SECRET = randomBytes(32);

/**
 * CookieAffinity pins with a cookie naming the endpoint by an opaque id and the time it was set, signed
 * with HMAC-SHA256 (`<id>.<set-at>.<mac>`), never the raw address. The pin lives `ttlSeconds` from its
 * last use, as HAProxy's `maxidle`: a response re-sets the cookie (same endpoint, new time and Max-Age)
 * once it is a quarter of the TTL old, and a cookie older than the TTL is not honoured. A tampered,
 * foreign, expired or stale cookie (its endpoint gone or unavailable) is ignored and the client re-pinned.
 */
export class CookieAffinity implements Affinity {
  readonly #config: AffinityConfig;
  readonly #service: string;
  readonly #byId = new Map<string, EndpointState>();
  readonly #idOf = new Map<EndpointState, string>();
  readonly #attributes: string;

  constructor(config: AffinityConfig, service: string, endpoints: readonly EndpointState[]) {
    this.#config = config;
    this.#service = service;
    for (const endpoint of endpoints) {
      const id = fastHash(`${service}|${endpoint.key}`).toString(36);
      this.#byId.set(id, endpoint);
      this.#idOf.set(endpoint, id);
    }
    this.#attributes =
      `; Path=${config.cookiePath}; Max-Age=${config.ttlSeconds}; SameSite=${config.cookieSameSite}` +
      `${config.cookieSecure || config.cookieSameSite === 'None' ? '; Secure' : ''}${config.cookieHttpOnly ? '; HttpOnly' : ''}`;
  }

  pick(keys: RequestKeys, exclude: readonly EndpointState[], available: Available, fallback: Fallback): Pick {
    const now = Math.floor(Date.now() / 1000);
    const cookie = keys.cookie(this.#config.cookieName);
    if (cookie !== undefined) {
      const [id = '', at = '', mac = ''] = cookie.split('.', 3);
      const pinned = this.#byId.get(id);
      const age = now - Number.parseInt(at, 36);
      if (
        pinned !== undefined &&
        age >= 0 &&
        age <= this.#config.ttlSeconds &&
        mac === this.#mac(id, at) &&
        available(pinned) &&
        !exclude.includes(pinned)
      ) {
        const refresh = age * 4 >= this.#config.ttlSeconds;
        return { endpoint: pinned, setCookie: refresh ? this.#cookieFor(id, now) : undefined };
      }
    }
    const endpoint = fallback(exclude);
    if (endpoint === undefined) return { endpoint, setCookie: undefined };
    return { endpoint, setCookie: this.#cookieFor(this.#idOf.get(endpoint)!, now) };
  }

  /** #cookieFor is the Set-Cookie value pinning to endpoint `id` from `now` (seconds since the epoch). */
  #cookieFor(id: string, now: number): string {
    const at = now.toString(36);
    return `${this.#config.cookieName}=${id}.${at}.${this.#mac(id, at)}${this.#attributes}`;
  }

  #mac(id: string, at: string): string {
    return createHmac('sha256', this.#config.secret ?? PROCESS_SECRET)
      .update(`${this.#service}|${id}|${at}`)
      .digest('base64url')
      .slice(0, 22);
  }
}

/**
 * TableAffinity pins by client address (`client-ip`, what `Service.spec.sessionAffinity: ClientIP` means)
 * or by a header's value, in a table of at most `maxEntries` pins, each forgotten `ttlSeconds` after its
 * last use. A pin to an endpoint that is gone or unavailable is replaced. A key without a pin goes where
 * weighted rendezvous hashing of the key over the available members says, so every process that has the
 * same endpoints (the workers of `portico run --workers N`, the other instances of a DaemonSet) pins it
 * to the same endpoint without sharing a table.
 */
export class TableAffinity implements Affinity {
  readonly #table: LRUCache<string, EndpointState>;
  readonly #key: (keys: RequestKeys) => string | undefined;
  readonly #members: readonly Member[];

  constructor(config: AffinityConfig, table: LRUCache<string, EndpointState>, members: readonly Member[]) {
    this.#table = table;
    this.#members = members;
    const header = config.headerName?.toLowerCase();
    this.#key =
      config.type === 'header'
        ? (keys) => (header === undefined ? undefined : keys.header(header))
        : (keys) => keys.clientAddress();
  }

  pick(keys: RequestKeys, exclude: readonly EndpointState[], available: Available, fallback: Fallback): Pick {
    const key = this.#key(keys);
    if (key === undefined) return { endpoint: fallback(exclude), setCookie: undefined };
    const pinned = this.#table.get(key);
    if (pinned !== undefined && !pinned.retired && available(pinned) && !exclude.includes(pinned)) {
      return { endpoint: pinned, setCookie: undefined };
    }
    const endpoint = this.#rendezvous(key, exclude, available) ?? fallback(exclude);
    if (endpoint !== undefined) this.#table.set(key, endpoint);
    return { endpoint, setCookie: undefined };
  }

  /** #rendezvous picks the available member with the highest weighted score for `key`. */
  #rendezvous(
    key: string,
    exclude: readonly EndpointState[],
    available: Available,
  ): EndpointState | undefined {
    let best: EndpointState | undefined;
    let bestScore = -1;
    for (const { endpoint, weight } of this.#members) {
      if (weight <= 0 || !available(endpoint) || exclude.includes(endpoint)) continue;
      // weight / -ln(u), u uniform in (0, 1) from the hash: the weighted form of highest random weight.
      const u = (fastHash(`${key}|${endpoint.key}`) + 1) / 4_294_967_297;
      const score = weight / -Math.log(u);
      if (score > bestScore) {
        bestScore = score;
        best = endpoint;
      }
    }
    return best;
  }

  /** size is the number of pins held. */
  get size(): number {
    return this.#table.size;
  }
}

/** createAffinityTable makes the pin table for a service; it outlives config changes of that service. */
export function createAffinityTable(config: AffinityConfig): LRUCache<string, EndpointState> {
  return new LRUCache<string, EndpointState>({
    max: config.maxEntries,
    ttl: config.ttlSeconds * 1000,
    updateAgeOnGet: true,
  });
}
