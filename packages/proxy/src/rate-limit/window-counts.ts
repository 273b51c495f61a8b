import { LRUCache } from 'lru-cache';

/** KeyCounts is one key's counts in its current window, as this instance knows them. */
export interface KeyCounts {
  /** window is the index of the current window (time / windowMs). */
  window: number;
  /** shared is the count every instance made in this window, as of the last sync. */
  shared: number;
  /** sending is what this instance counted and is adding to the store right now. */
  sending: number;
  /** pending is what this instance counted since, not yet added to the store. */
  pending: number;
  /** previous is the count of the window before (every instance's when the store told it). */
  previous: number;
}

/**
 * WindowCounts are the counts of a global rate limit (one route's), kept by this instance between syncs
 * with the shared store: a sliding window estimated from fixed ones (the previous window's count
 * weighted by how much of it the sliding window still covers, plus the current one's), as Cloudflare
 * does. A request is admitted on what this instance knows, so no request waits for the store;
 * `GlobalRateLimits` adds the local counts to the store and reads everyone's every sync interval, for
 * every key used lately. At most `maxKeys` keys are kept, the least recently used forgotten first.
 */
export class WindowCounts {
  readonly route: string;
  readonly windowMs: number;
  /** limit is the requests a key may make per window, over every instance. */
  readonly limit: number;
  readonly #keys: LRUCache<string, KeyCounts>;
  /**
   * active are the keys requests used lately, with when they last did (ms): each sync sends their counts
   * to the store and brings everyone's back, until they have been unused for a while.
   */
  readonly active = new Map<string, number>();
  /** usedAt is when a request last used these counts (ms), so unused ones can be dropped. */
  usedAt = 0;

  constructor(route: string, windowMs: number, limit: number, maxKeys: number) {
    this.route = route;
    this.windowMs = windowMs;
    this.limit = limit;
    this.#keys = new LRUCache({ max: maxKeys });
  }

  /**
   * take counts a request of `key` at `now` (ms) when the estimate leaves room for it and returns 0, or
   * returns the ms until the window ends (the request is refused and not counted).
   */
  take(key: string, now: number): number {
    this.usedAt = now;
    const counts = this.counts(key, now);
    this.active.set(key, now); // a refused key syncs too: it learns when others' counts fall
    if (this.estimate(counts, now) + 1 > this.limit) return this.windowMs - (now % this.windowMs);
    counts.pending++;
    return 0;
  }

  /** remaining is how many more requests `key` may make now (for RateLimit-Remaining). */
  remaining(key: string, now: number): number {
    const counts = this.#keys.peek(key);
    if (counts === undefined) return this.limit;
    return Math.max(0, Math.floor(this.limit - this.estimate(counts, now)));
  }

  /** counts returns the counts of `key`, moved on to the window of `now`. */
  counts(key: string, now: number): KeyCounts {
    const window = Math.floor(now / this.windowMs);
    let counts = this.#keys.get(key);
    if (counts === undefined) {
      counts = { window, shared: 0, sending: 0, pending: 0, previous: 0 };
      this.#keys.set(key, counts);
    } else if (counts.window !== window) {
      const total = counts.shared + counts.sending + counts.pending;
      counts.previous = counts.window === window - 1 ? total : 0;
      counts.window = window;
      counts.shared = 0;
      counts.sending = 0;
      counts.pending = 0;
    }
    return counts;
  }

  /** peek returns the counts of `key` without touching its recency, or undefined. */
  peek(key: string): KeyCounts | undefined {
    return this.#keys.peek(key);
  }

  /** estimate is the sliding window's count at `now`: the part of the previous window it still covers, and this one's. */
  estimate(counts: KeyCounts, now: number): number {
    const covered = 1 - (now % this.windowMs) / this.windowMs;
    return counts.previous * covered + counts.shared + counts.sending + counts.pending;
  }

  get size(): number {
    return this.#keys.size;
  }
}
