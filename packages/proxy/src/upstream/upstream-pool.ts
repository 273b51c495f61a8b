import type { UpstreamPoolConfig } from '@portico/config';
import type { DeadlineSweeper } from '../deadline-sweeper.ts';
import type { EndpointState } from './endpoint-state.ts';
import { UpstreamConnection, type UpstreamOwner } from './upstream-connection.ts';

/** PoolSettings are the pool's bounds: the config's pool section and the upstream idle timeout. */
export interface PoolSettings extends UpstreamPoolConfig {
  readonly upstreamIdleMs: number;
}

/**
 * UpstreamPool hands out keep-alive connections to endpoints: the most recently used idle connection
 * when there is one (LIFO keeps the working set small and warm), a new one otherwise. Released
 * connections are kept up to `maxIdlePerEndpoint` and closed after `upstreamIdleMs` unused.
 */
export class UpstreamPool {
  readonly #sweeper: DeadlineSweeper;
  #settings: PoolSettings;
  readonly #onClosed = (upstream: UpstreamConnection) => this.#forget(upstream);
  /** created counts connections opened since start. */
  created = 0;
  /** reused counts requests that went out on a pooled connection. */
  reused = 0;

  constructor(sweeper: DeadlineSweeper, settings: PoolSettings) {
    this.#sweeper = sweeper;
    this.#settings = settings;
  }

  /** configure applies new bounds; idle connections over the new bound are closed when next released. */
  configure(settings: PoolSettings): void {
    this.#settings = settings;
  }

  /**
   * acquire returns a pooled connection to `endpoint` now owned by `owner`, or opens a new one (the owner
   * then hears `onUpstreamConnect`). `fresh` skips the pool.
   */
  acquire(endpoint: EndpointState, owner: UpstreamOwner, fresh: boolean): UpstreamConnection {
    if (!fresh) {
      const idle = endpoint.idle;
      while (idle.length > 0) {
        const upstream = idle.pop()!;
        if (upstream.closed) continue;
        upstream.owner = owner;
        upstream.deadline = 0;
        this.reused++;
        return upstream;
      }
    }
    this.created++;
    const upstream = new UpstreamConnection(endpoint, owner, this.#onClosed);
    this.#sweeper.add(upstream);
    return upstream;
  }

  /** release returns a connection whose exchange completed cleanly; it is pooled or closed. */
  release(upstream: UpstreamConnection): void {
    const { maxIdlePerEndpoint, maxRequestsPerConnection, upstreamIdleMs } = this.#settings;
    const endpoint = upstream.endpoint;
    upstream.owner = undefined;
    if (
      upstream.closed ||
      endpoint.retired ||
      endpoint.idle.length >= maxIdlePerEndpoint ||
      (maxRequestsPerConnection > 0 && upstream.requests >= maxRequestsPerConnection)
    ) {
      upstream.destroy();
      return;
    }
    upstream.deadline = Date.now() + upstreamIdleMs;
    upstream.resume(); // an idle connection must keep reading, to notice the upstream closing it
    endpoint.idle.push(upstream);
  }

  /** closeIdle closes every idle connection of `endpoint`. */
  closeIdle(endpoint: EndpointState): void {
    for (const upstream of endpoint.idle.splice(0)) upstream.destroy();
  }

  #forget(upstream: UpstreamConnection): void {
    this.#sweeper.delete(upstream);
    const idle = upstream.endpoint.idle;
    const i = idle.indexOf(upstream);
    if (i >= 0) idle.splice(i, 1);
  }
}
