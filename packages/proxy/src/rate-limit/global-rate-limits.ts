import type { RateLimitConfig, RateLimitStoreConfig } from '@portico/config';
import type { Redis } from 'ioredis';
import { rateLimitStoreChannel } from '../diagnostics.ts';
import { WindowCounts } from './window-counts.ts';

/**
 * ADD_AND_READ adds this instance's count to a key's current window, sets the window to expire once it
 * can no longer be the previous one, and returns the current and previous windows' counts: one atomic
 * step per key, so instances never lose each other's counts.
 */
const ADD_AND_READ = `
local current = redis.call('INCRBY', KEYS[1], ARGV[1])
if current == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local previous = redis.call('GET', KEYS[2])
return {current, tonumber(previous) or 0}
`;

/**
 * ACTIVE_SYNCS is how many sync intervals a key keeps being synced after a request last used it: so an
 * instance that used a key lately learns what the others count, before its next request of it.
 */
const ACTIVE_SYNCS = 10;

/** StoreState says whether the store answered the last sync. */
export type StoreState = 'up' | 'down';

/** RedisWithScript is the client with ADD_AND_READ defined as a command. */
type RedisWithScript = Redis & {
  porticoAddAndRead(current: string, previous: string, add: number, ttlMs: number): Promise<[number, number]>;
};

/**
 * GlobalRateLimits hold the counts of every `global` rate limit of a proxy and keep them in step with
 * the store (`rateLimitStore`, a Redis server every instance shares). Requests never wait for the store:
 * each limit admits on the counts this instance knows (`WindowCounts`), and every `syncIntervalMs` one
 * pipeline adds what was counted since and reads back everyone's, each key in one atomic script, for
 * every key a request used in the last ten intervals. While
 * the store cannot be reached (a command failed or took longer than `timeoutMs`), `state` is `down` and
 * each limit does what its `onStoreFailure` says; counts made meanwhile are added once it is back.
 * Counts are kept by route, window and limit across config changes; those no request used for two
 * windows are dropped.
 */
export class GlobalRateLimits {
  #config: RateLimitStoreConfig | undefined;
  #redis: RedisWithScript | undefined;
  #timer: NodeJS.Timeout | undefined;
  #syncing = false;
  /** #loading settles once the Redis client is loaded and made (a sync waits for it). */
  #loading: Promise<void> | undefined;
  /** #state starts `up`: a limit fails over only once the store did not answer. */
  #state: StoreState = 'up';
  readonly #counts = new Map<string, WindowCounts>();
  /** errors counts syncs that failed (the store unreachable, slow or refusing). */
  errors = 0;

  get state(): StoreState {
    return this.#state;
  }

  /**
   * counts returns the counts of a route's global limit, the same object for the same route, window and
   * limit, so a config change that keeps the limit keeps what was counted.
   */
  counts(route: string, limit: RateLimitConfig): WindowCounts {
    const windowMs = limit.requestsPerSecond === undefined ? 60_000 : 1_000;
    const perWindow = Math.max(1, Math.round(limit.requestsPerSecond ?? limit.requestsPerMinute ?? 60));
    const id = `${route}\n${windowMs}\n${perWindow}\n${limit.key}\n${limit.header ?? ''}\n${limit.maxKeys}`;
    let counts = this.#counts.get(id);
    if (counts === undefined) {
      counts = new WindowCounts(
        `${route}:${limit.key}:${limit.header ?? ''}`,
        windowMs,
        perWindow,
        limit.maxKeys,
      );
      counts.usedAt = Date.now();
      this.#counts.set(id, counts);
    }
    return counts;
  }

  /** configure connects to the store `config` names (again when it changed), or disconnects without one. */
  configure(config: RateLimitStoreConfig | undefined): void {
    if (JSON.stringify(config) === JSON.stringify(this.#config)) return;
    this.close();
    this.#config = config;
    if (config === undefined) return;
    // ioredis is loaded only when a store is configured: it costs every process ~130 ms to load.
    this.#loading = import('ioredis').then(({ Redis }) => {
      if (this.#config === config) this.#connect(Redis, config);
    });
  }

  #connect(Client: typeof Redis, config: RateLimitStoreConfig): void {
    const redis = new Client(config.redis.url, {
      enableOfflineQueue: false, // a command while disconnected fails at once: requests never wait
      maxRetriesPerRequest: 0,
      commandTimeout: config.timeoutMs,
      connectTimeout: Math.max(1_000, config.timeoutMs),
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      lazyConnect: false,
    }) as RedisWithScript;
    redis.defineCommand('porticoAddAndRead', { numberOfKeys: 2, lua: ADD_AND_READ });
    // Errors are reported by the syncs that fail; the message never holds the URL (or its password).
    redis.on('error', () => {});
    this.#redis = redis;
    this.#timer = setInterval(() => void this.sync(), config.syncIntervalMs);
    this.#timer.unref();
  }

  /**
   * sync adds every key's counts since the last sync to the store and reads back everyone's. It resolves
   * when done (whether the store answered or not); a sync still running when the next is due is skipped.
   */
  async sync(): Promise<void> {
    await this.#loading;
    const redis = this.#redis;
    const config = this.#config;
    if (redis === undefined || config === undefined || this.#syncing) return;
    this.#syncing = true;
    try {
      const now = Date.now();
      const batch: { counts: WindowCounts; key: string; window: number; sent: number }[] = [];
      const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & {
        porticoAddAndRead(current: string, previous: string, add: number, ttlMs: number): unknown;
      };
      for (const [id, counts] of this.#counts) {
        if (now - counts.usedAt > 2 * counts.windowMs && counts.active.size === 0) {
          this.#counts.delete(id);
          continue;
        }
        const activeMs = ACTIVE_SYNCS * config.syncIntervalMs;
        for (const [key, usedAt] of counts.active) {
          if (now - usedAt > activeMs) counts.active.delete(key); // synced once more, then left alone
          const entry = counts.counts(key, now);
          const sent = entry.pending;
          entry.sending += sent;
          entry.pending = 0;
          const base = `${config.keyPrefix}${counts.route}:${key}:`;
          pipeline.porticoAddAndRead(
            `${base}${entry.window}`,
            `${base}${entry.window - 1}`,
            sent,
            2 * counts.windowMs + 1_000,
          );
          batch.push({ counts, key, window: entry.window, sent });
        }
      }
      if (batch.length === 0) {
        if (this.#state === 'down') await this.#probe(redis); // nothing to count: see whether it is back
        return;
      }
      let results: [Error | null, unknown][] | null = null;
      let failure: Error | undefined;
      try {
        results = await pipeline.exec();
      } catch (error) {
        failure = error as Error;
      }
      let failed = failure !== undefined || results === null;
      batch.forEach((item, i) => {
        const entry = item.counts.peek(item.key);
        const [error, value] = results?.[i] ?? [failure ?? new Error('no reply'), undefined];
        if (entry === undefined) return;
        if (entry.window !== item.window) return; // the window moved on meanwhile: its counts are history
        entry.sending -= item.sent;
        if (error !== null) {
          failed = true;
          entry.pending += item.sent; // added on the next sync that reaches the store
          item.counts.active.set(item.key, now);
          return;
        }
        const [current, previous] = value as [number, number];
        entry.shared = current - entry.sending; // what is still being sent is counted apart
        entry.previous = previous;
      });
      this.#setState(failed ? 'down' : 'up', failed ? (failure?.message ?? firstError(results)) : undefined);
    } finally {
      this.#syncing = false;
    }
  }

  async #probe(redis: Redis): Promise<void> {
    try {
      await redis.ping();
      this.#setState('up', undefined);
    } catch (error) {
      this.#setState('down', (error as Error).message);
    }
  }

  #setState(state: StoreState, message: string | undefined): void {
    if (state === 'down') this.errors++;
    if (state === this.#state) return;
    this.#state = state;
    if (rateLimitStoreChannel.hasSubscribers) rateLimitStoreChannel.publish({ state, message });
  }

  /** close disconnects from the store and stops syncing; the counts stay. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#redis?.disconnect();
    this.#redis = undefined;
    this.#config = undefined;
    this.#state = 'up';
  }
}

function firstError(results: [Error | null, unknown][] | null): string | undefined {
  return results?.find(([error]) => error !== null)?.[0]?.message;
}
