import { BodyFramer } from '../http/body-framer.ts';
import { parseResponseHead } from '../http/response-head.ts';
import { PorticoProxyError } from '../proxy-error.ts';
import type { UpstreamConnection, UpstreamOwner } from './upstream-connection.ts';
import type { UpstreamPool } from './upstream-pool.ts';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/** DRAIN_MAX_BYTES is the most of an unwanted response read to save its connection: 64 KiB. */
const DRAIN_MAX_BYTES = 65_536;

/**
 * DRAIN_MAX_WAIT_MS is the longest an unwanted response is waited for: 2 s (less when the route's
 * response-head timeout is shorter). A backend still working after that sees its connection close, as
 * nginx closes it when the client aborts.
 */
const DRAIN_MAX_WAIT_MS = 2_000;

/**
 * ResponseDrain owns an upstream connection whose request was sent in full but whose client went away
 * before the response: it reads the response and throws it away, then pools the connection. Reading up
 * to `DRAIN_MAX_BYTES` for up to `DRAIN_MAX_WAIT_MS` (or `waitMs` if shorter) is cheaper than a new connection; a response that is longer,
 * later, malformed or not reusable closes the connection instead. So a client that cancels requests
 * (HTTP/2 stream resets) cannot make Portico open and throw away an upstream connection per request.
 */
export class ResponseDrain implements UpstreamOwner {
  readonly #pool: UpstreamPool;
  readonly #method: string;
  #head: Buffer | undefined;
  #framer: BodyFramer | undefined;
  #reusable = false;
  #bytes = 0;

  constructor(pool: UpstreamPool, upstream: UpstreamConnection, method: string, waitMs: number) {
    this.#pool = pool;
    this.#method = method;
    upstream.owner = this;
    upstream.deadline = Date.now() + Math.min(waitMs, DRAIN_MAX_WAIT_MS);
    upstream.resume();
  }

  onUpstreamData(upstream: UpstreamConnection, chunk: Buffer): boolean {
    this.#bytes += chunk.length;
    if (this.#bytes > DRAIN_MAX_BYTES) {
      upstream.destroy();
      return true;
    }
    const framer = this.#framer;
    if (framer === undefined) {
      this.#readHead(upstream, chunk);
      return this.#head === undefined; // a partial head is kept
    }
    this.#readBody(upstream, framer, chunk, 0);
    return true;
  }

  #readHead(upstream: UpstreamConnection, chunk: Buffer): void {
    const buf = this.#head === undefined ? chunk : Buffer.concat([this.#head, chunk]);
    const end = buf.indexOf(CRLFCRLF);
    if (end < 0) {
      this.#head = buf;
      return;
    }
    this.#head = undefined;
    const res = parseResponseHead(buf, 0, end, this.#method);
    if (res instanceof PorticoProxyError || res.status === 101 || res.bodyLength === -2) {
      upstream.destroy();
      return;
    }
    if (res.status < 200) {
      if (end + 4 < buf.length) this.#readHead(upstream, buf.subarray(end + 4));
      return;
    }
    this.#reusable = res.reusable;
    const framer = new BodyFramer();
    framer.reset(res.bodyLength, false);
    this.#framer = framer;
    this.#readBody(upstream, framer, buf, end + 4);
  }

  #readBody(upstream: UpstreamConnection, framer: BodyFramer, buf: Buffer, start: number): void {
    const end = start < buf.length ? framer.consume(buf, start) : start;
    if (end < 0 || end < buf.length) {
      upstream.destroy(); // malformed, or bytes beyond the response
      return;
    }
    if (!framer.done) return;
    if (this.#reusable) this.#pool.release(upstream);
    else upstream.destroy();
  }

  onUpstreamConnect(): void {}

  onUpstreamDrain(): void {}

  onUpstreamClose(): void {}

  onUpstreamTimeout(upstream: UpstreamConnection): void {
    upstream.destroy();
  }
}
