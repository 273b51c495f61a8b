import type { EndpointState } from './endpoint-state.ts';
import { ResponseDrain } from './response-drain.ts';
import type { UpstreamConnection, UpstreamOwner } from './upstream-connection.ts';
import type { UpstreamPool } from './upstream-pool.ts';

/**
 * MirrorRequest sends a copy of a request (`routes[].mirror`) to an endpoint of the mirror service and
 * forgets it: the copy takes a pooled connection (or opens one within `connectMs`), is written whole, and
 * its response is read and thrown away by a ResponseDrain, which pools the connection again. Nothing of it
 * reaches the client or delays the exchange it copies; a mirror that fails or is slow only costs itself.
 */
export class MirrorRequest implements UpstreamOwner {
  readonly #pool: UpstreamPool;
  readonly #bytes: Buffer;
  readonly #method: string;
  readonly #waitMs: number;

  constructor(
    pool: UpstreamPool,
    endpoint: EndpointState,
    bytes: Buffer,
    method: string,
    connectMs: number,
    waitMs: number,
  ) {
    this.#pool = pool;
    this.#bytes = bytes;
    this.#method = method;
    this.#waitMs = waitMs;
    const upstream = pool.acquire(endpoint, this, false);
    if (upstream.connected) this.#send(upstream);
    else upstream.deadline = Date.now() + connectMs;
  }

  #send(upstream: UpstreamConnection): void {
    upstream.requests++;
    upstream.send(this.#bytes);
    new ResponseDrain(this.#pool, upstream, this.#method, this.#waitMs);
  }

  onUpstreamConnect(upstream: UpstreamConnection): void {
    this.#send(upstream);
  }

  onUpstreamData(upstream: UpstreamConnection): boolean {
    upstream.destroy();
    return true;
  }

  onUpstreamDrain(): void {}

  onUpstreamClose(): void {}

  onUpstreamTimeout(upstream: UpstreamConnection): void {
    upstream.destroy();
  }
}
