import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { Deadline, DeadlineSweeper } from '../deadline-sweeper.ts';
import { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM, NGHTTP2_NO_ERROR } from '../http2/h2-constants.ts';
import type { EndpointState } from './endpoint-state.ts';
import type { H2UpstreamPool, UpstreamSession } from './h2-upstream-pool.ts';

/** H2UpstreamOwner hears what happens to one request on an HTTP/2 upstream. */
export interface H2UpstreamOwner {
  /** onH2Response receives the response head; `ended` is set when it ended the stream (no body). */
  onH2Response(request: H2UpstreamRequest, headers: IncomingHttpHeaders, ended: boolean): void;
  onH2Data(request: H2UpstreamRequest, chunk: Buffer): void;
  onH2Trailers(request: H2UpstreamRequest, trailers: IncomingHttpHeaders): void;
  /** onH2End is called once the response (and its trailers) are complete. */
  onH2End(request: H2UpstreamRequest): void;
  /** onH2Drain is called when the stream takes request body again. */
  onH2Drain(request: H2UpstreamRequest): void;
  /** onH2Failure is called when the stream fails or times out before the response completed. */
  onH2Failure(request: H2UpstreamRequest, timedOut: boolean): void;
}

/**
 * H2UpstreamRequest is one request on a pooled HTTP/2 session: the stream, its deadlines (response head,
 * then idle between pieces of the response) and its events, forwarded to the exchange that owns it.
 */
export class H2UpstreamRequest implements Deadline {
  readonly endpoint: EndpointState;
  readonly stream: ClientHttp2Stream;
  deadline = 0;
  readonly #pool: H2UpstreamPool;
  readonly #sweeper: DeadlineSweeper;
  readonly #entry: UpstreamSession;
  #owner: H2UpstreamOwner | undefined;
  #responded = false;
  #idleMs: number;
  #done = false;
  /** #ended is true once the response's data ended (END_STREAM, or a reset). */
  #ended = false;

  constructor(
    pool: H2UpstreamPool,
    sweeper: DeadlineSweeper,
    endpoint: EndpointState,
    headers: OutgoingHttpHeaders,
    endStream: boolean,
    owner: H2UpstreamOwner,
    headMs: number,
    idleMs: number,
  ) {
    this.#pool = pool;
    this.#sweeper = sweeper;
    this.endpoint = endpoint;
    this.#owner = owner;
    this.#idleMs = idleMs;
    this.#entry = pool.acquire(endpoint);
    this.stream = this.#entry.session.request(headers, { endStream });
    this.deadline = Date.now() + headMs;
    sweeper.add(this);
    const stream = this.stream;
    stream.on('response', (h: IncomingHttpHeaders, flags: number) => {
      this.#responded = true;
      this.deadline = Date.now() + this.#idleMs;
      this.#owner?.onH2Response(this, h, (flags & NGHTTP2_FLAG_END_STREAM) !== 0);
    });
    stream.on('data', (chunk: Buffer) => {
      this.deadline = Date.now() + this.#idleMs;
      this.#owner?.onH2Data(this, chunk);
    });
    stream.on('trailers', (t: IncomingHttpHeaders) => this.#owner?.onH2Trailers(this, t));
    stream.on('end', () => {
      this.#ended = true;
    });
    stream.on('drain', () => this.#owner?.onH2Drain(this));
    stream.on('error', () => {});
    // The response is complete only when the stream closed cleanly after its end: a reset also ends the
    // readable side, and must reach the client as a cut, never as a complete response.
    stream.on('close', () => {
      this.#finish();
      const owner = this.#owner;
      this.#owner = undefined;
      if (this.#responded && this.#ended && stream.rstCode === NGHTTP2_NO_ERROR) owner?.onH2End(this);
      else owner?.onH2Failure(this, false);
    });
  }

  /** sessionConnected tells whether the session carrying the request ever connected. */
  get sessionConnected(): boolean {
    return this.#entry.connected;
  }

  /** responded tells whether the response head arrived. */
  get responded(): boolean {
    return this.#responded;
  }

  onDeadline(): void {
    this.deadline = 0;
    const owner = this.#owner;
    this.#owner = undefined;
    this.cancel();
    owner?.onH2Failure(this, true);
  }

  /** cancel resets the stream (CANCEL) without telling the owner: it let go. */
  cancel(): void {
    this.#owner = undefined;
    this.#finish();
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_CANCEL);
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.deadline = 0;
    this.#sweeper.delete(this);
    this.#pool.release(this.#entry);
  }
}
