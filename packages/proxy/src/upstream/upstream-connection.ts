import { connect, type Socket } from 'node:net';
import type { Deadline } from '../deadline-sweeper.ts';
import { type HeadPlan, LAST_CHUNK, writeChunk, writeHead } from '../http/assemble-head.ts';
import { nodeTls } from '../lazy-modules.ts';
import { RelayBuffer } from '../relay-buffer.ts';
import type { EndpointState } from './endpoint-state.ts';

/**
 * READ_BYTES is the most one read from an upstream takes: 32 KiB, Envoy's edge per-connection buffer
 * limit. Reading stops while the client is not keeping up, so a slow client holds about that much of a
 * response in Portico, where Node's own reads take 64 KiB at a time.
 */
const READ_BYTES = 32_768;

/** UpstreamOwner receives the events of the upstream connection it is using. */
export interface UpstreamOwner {
  onUpstreamConnect(upstream: UpstreamConnection): void;
  /**
   * onUpstreamData takes bytes the upstream sent; it returns true when nothing references `chunk` any
   * more (its bytes were written on at once, or dropped), so its buffer can take the next read.
   */
  onUpstreamData(upstream: UpstreamConnection, chunk: Buffer): boolean;
  onUpstreamDrain(upstream: UpstreamConnection): void;
  /** onUpstreamClose is called once when the connection ends, fails or is destroyed while owned. */
  onUpstreamClose(upstream: UpstreamConnection, error: Error | undefined): void;
  onUpstreamTimeout(upstream: UpstreamConnection): void;
}

/**
 * UpstreamConnection is one TCP (or TLS, when the endpoint's service asks for it) connection to an endpoint. Its socket handlers are bound once and forward
 * to the current `owner` (the downstream connection using it), so reusing it costs no new closures. While
 * it sits idle in the pool it has no owner, and any byte or close from the upstream retires it.
 */
export class UpstreamConnection implements Deadline {
  readonly socket: Socket;
  readonly endpoint: EndpointState;
  owner: UpstreamOwner | undefined;
  /** connected is true once the TCP handshake completed. */
  connected = false;
  /** requests counts the requests this connection has carried. */
  requests = 0;
  /** deadline is the moment (ms) the current wait (connect, response head, idle) expires; 0 for none. */
  deadline = 0;
  #closed = false;
  #paused = false;
  /** #reads decides where the next read from a plain TCP upstream lands. */
  readonly #reads = new RelayBuffer(READ_BYTES);
  readonly #onClosed: (upstream: UpstreamConnection) => void;

  constructor(
    endpoint: EndpointState,
    owner: UpstreamOwner,
    onClosed: (upstream: UpstreamConnection) => void,
  ) {
    this.endpoint = endpoint;
    this.owner = owner;
    this.#onClosed = onClosed;
    endpoint.connections++;
    const tls = endpoint.tls;
    if (tls === undefined) {
      // Reads take at most READ_BYTES, so what one connection holds for a slow client is bounded by
      // that, not by Node's 64 KiB reads; a streamed response reuses one warm buffer (RelayBuffer).
      this.socket = connect({
        host: endpoint.address,
        port: endpoint.port,
        noDelay: true,
        onread: {
          buffer: () => this.#reads.next(),
          callback: (n: number, buf: Uint8Array) => this.#onRead(n, buf),
        },
      });
    } else {
      this.socket = nodeTls()
        .connect({ host: endpoint.address, port: endpoint.port, ...tls.options })
        .setNoDelay(true);
      this.socket.on('data', (chunk: Buffer) => this.#deliver(chunk));
    }
    this.socket.on(tls === undefined ? 'connect' : 'secureConnect', () => {
      this.connected = true;
      this.owner?.onUpstreamConnect(this);
    });
    this.socket.on('drain', () => this.owner?.onUpstreamDrain(this));
    this.socket.on('end', () => this.#close(undefined));
    this.socket.on('error', (error: Error) => this.#close(error));
    this.socket.on('close', () => this.#close(undefined));
  }

  /** #onRead takes `n` bytes read into `buf`; false pauses reading (the owner paused this connection). */
  #onRead(n: number, buf: Uint8Array): boolean {
    const chunk = this.#reads.take(n, buf);
    const owner = this.owner;
    if (owner === undefined) {
      this.destroy();
      return false;
    }
    this.#reads.written(owner.onUpstreamData(this, chunk));
    return !this.#paused;
  }

  #deliver(chunk: Buffer): void {
    if (this.owner) this.owner.onUpstreamData(this, chunk);
    else this.destroy();
  }

  /**
   * sendHead writes a request head built from `plan` and the body part `body[start, end)`; false means
   * wait for drain. Every write to the upstream goes through this class, so how bytes reach the socket
   * (today `socket.write`) can change here alone.
   */
  sendHead(plan: HeadPlan, body: Buffer | undefined, start: number, end: number): boolean {
    return writeHead(this.socket, plan, body, start, end);
  }

  /** send writes body bytes as they are; false means wait for drain. */
  send(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }

  /** sendChunk writes `chunk` as one chunk of a chunked body (size line, data, CRLF), in one segment. */
  sendChunk(chunk: Buffer): boolean {
    return writeChunk(this.socket, chunk);
  }

  /** sendLastChunk ends a chunked body (no trailers). */
  sendLastChunk(): void {
    this.socket.write(LAST_CHUNK);
  }

  /** endOutput half-closes the connection (a tunnel the client ended). */
  endOutput(): void {
    this.socket.end();
  }

  /** pause stops reading from the upstream (the client is not keeping up). */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
  }

  /** resume reads from the upstream again; pooled connections are always resumed. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  }

  /** closed tells whether the connection has ended or failed. */
  get closed(): boolean {
    return this.#closed;
  }

  onDeadline(): void {
    this.deadline = 0;
    if (this.owner) this.owner.onUpstreamTimeout(this);
    else this.destroy();
  }

  /** destroy closes the connection at once; the owner, if any, is not told. */
  destroy(): void {
    this.owner = undefined;
    this.#close(undefined);
  }

  #close(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.deadline = 0;
    this.endpoint.connections--;
    this.socket.destroy();
    const owner = this.owner;
    this.owner = undefined;
    this.#onClosed(this);
    owner?.onUpstreamClose(this, error);
  }
}
