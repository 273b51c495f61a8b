import type { RateLimitConfig } from '@portico/config';
import { LRUCache } from 'lru-cache';
import type { Filter, FilterExchange } from '../filter.ts';
import type { HeadEditor } from '../head-editor.ts';
import type { LocalReply } from '../local-reply.ts';
import { rateLimitKey, rateLimitLines, refusedReply } from './rate-limit-reply.ts';

/** Bucket is one key's tokens, as of `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * RateLimitFilter is a local rate limit (`routes[].rateLimit`): one token bucket per key (the client's
 * address as Portico trusts it, a header's value, or the whole route), refilled at the configured rate up
 * to `burst`. A request that finds no token gets the configured status (429 by default) with Retry-After
 * (seconds until a token) and goes nowhere. At most `maxKeys` buckets are kept, the least recently used
 * forgotten first, so a flood of distinct keys cannot grow memory. A request without the header, for key
 * `header`, is not limited. Each worker process limits its own traffic (`portico run --workers N` gives
 * each worker its share of the rate). With `headers`, responses tell the client its bucket: size,
 * tokens left and seconds until it is full again.
 */
export class RateLimitFilter implements Filter {
  readonly name = 'rate-limit';
  /** #perMs is tokens per millisecond. */
  readonly #perMs: number;
  readonly #burst: number;
  readonly #status: number;
  readonly #key: (exchange: FilterExchange) => string | undefined;
  readonly #buckets: LRUCache<string, Bucket>;
  readonly #headers: boolean;

  constructor(limit: RateLimitConfig) {
    const perSecond = limit.requestsPerSecond ?? (limit.requestsPerMinute ?? 60) / 60;
    this.#perMs = perSecond / 1000;
    this.#burst = limit.burst ?? Math.max(1, Math.ceil(perSecond));
    this.#status = limit.status;
    this.#key = rateLimitKey(limit);
    this.#buckets = new LRUCache({ max: limit.maxKeys });
    this.#headers = limit.headers;
  }

  request(exchange: FilterExchange): LocalReply | undefined {
    const key = this.#key(exchange);
    if (key === undefined) return undefined;
    const waitMs = this.take(key, Date.now());
    return waitMs === 0 ? undefined : refusedReply(this.#status, waitMs);
  }

  response(exchange: FilterExchange, head: HeadEditor): void {
    if (!this.#headers) return;
    const key = this.#key(exchange);
    const bucket = key === undefined ? undefined : this.#buckets.peek(key);
    if (bucket === undefined) return;
    const tokens = Math.min(this.#burst, bucket.tokens + (Date.now() - bucket.at) * this.#perMs);
    head.addLines(rateLimitLines(this.#burst, Math.floor(tokens), (this.#burst - tokens) / this.#perMs));
  }

  /** take spends a token of `key` at `now` (ms): 0 when there was one, else the ms until there is. */
  take(key: string, now: number): number {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, (1 - bucket.tokens) / this.#perMs);
  }

  /** keys is the number of buckets held. */
  get keys(): number {
    return this.#buckets.size;
  }
}
