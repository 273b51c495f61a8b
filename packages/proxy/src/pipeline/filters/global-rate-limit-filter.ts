import type { RateLimitConfig } from '@portico/config';
import type { GlobalRateLimits } from '../../rate-limit/global-rate-limits.ts';
import type { WindowCounts } from '../../rate-limit/window-counts.ts';
import type { Filter, FilterExchange } from '../filter.ts';
import type { HeadEditor } from '../head-editor.ts';
import type { LocalReply } from '../local-reply.ts';
import { rateLimitKey, rateLimitLines, refusedReply } from './rate-limit-reply.ts';

/** STORE_DOWN answers a request of a fail-closed global limit while the store cannot be reached. */
const STORE_DOWN: LocalReply = {
  status: 503,
  fields: ['retry-after', '1', 'content-type', 'text/plain; charset=utf-8'],
  body: 'rate limit store unavailable\n',
  refusal: 'rate-limited',
};

/**
 * GlobalRateLimitFilter is a rate limit shared by every Portico instance (`routes[].rateLimit` with
 * `global: true`): requests per second or minute per key, counted in a sliding window over the shared
 * store. It admits on the counts this instance holds (synced every `rateLimitStore.syncIntervalMs`),
 * so requests never wait for the store. While the store is down, `onStoreFailure` decides: `local`
 * keeps limiting on the counts this instance has, `allow` admits everything, `deny` answers 503.
 */
export class GlobalRateLimitFilter implements Filter {
  readonly name = 'rate-limit';
  readonly #limits: GlobalRateLimits;
  readonly #counts: WindowCounts;
  readonly #status: number;
  readonly #onStoreFailure: RateLimitConfig['onStoreFailure'];
  readonly #key: (exchange: FilterExchange) => string | undefined;
  readonly #headers: boolean;

  constructor(limit: RateLimitConfig, route: string, limits: GlobalRateLimits) {
    this.#limits = limits;
    this.#counts = limits.counts(route, limit);
    this.#status = limit.status;
    this.#onStoreFailure = limit.onStoreFailure;
    this.#key = rateLimitKey(limit);
    this.#headers = limit.headers;
  }

  request(exchange: FilterExchange): LocalReply | undefined {
    const key = this.#key(exchange);
    if (key === undefined) return undefined;
    if (this.#limits.state === 'down' && this.#onStoreFailure !== 'local') {
      if (this.#onStoreFailure === 'allow') return undefined;
      this.#counts.active.set(key, Date.now()); // so the next sync asks the store whether it is back
      return STORE_DOWN;
    }
    const waitMs = this.#counts.take(key, Date.now());
    return waitMs === 0 ? undefined : refusedReply(this.#status, waitMs);
  }

  response(exchange: FilterExchange, head: HeadEditor): void {
    if (!this.#headers) return;
    const key = this.#key(exchange);
    if (key === undefined) return;
    const now = Date.now();
    const counts = this.#counts;
    head.addLines(
      rateLimitLines(counts.limit, counts.remaining(key, now), counts.windowMs - (now % counts.windowMs)),
    );
  }
}
