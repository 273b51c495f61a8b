import type { Duplex } from 'node:stream';
import type { Deadline } from '../deadline-sweeper.ts';
import { ClientInfo, type SecureInfo } from '../pipeline/client-info.ts';
import type { Downstream } from '../pipeline/downstream.ts';
import { Exchange } from '../pipeline/exchange.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';
import { PorticoProxyError } from '../proxy-error.ts';
import { writeChunk, writeHead } from './assemble-head.ts';
import { BodyFramer, type TrailerLimits } from './body-framer.ts';
import type { ConnectionContext } from './connection-context.ts';
import { downstreamResponsePlan } from './forward-head.ts';
import { localReply, localResponse } from './local-response.ts';
import { parseRequestHead, type RequestHead } from './request-head.ts';
import type { ResponseHead } from './response-head.ts';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');

/** States of a client connection. */
const IDLE = 0; // between requests, waiting for a first byte
const HEAD = 1; // reading a request head
const BUSY = 2; // an exchange is in progress
const LINGER = 3; // answered and closing; discarding input until the client closes or a deadline
const TUNNEL = 4; // after a 101: bytes spliced both ways until either side closes
const CLOSED = 5;

/** LINGER_MS is how long input is discarded after a final response before the socket is destroyed. */
const LINGER_MS = 2_000;

/**
 * HttpConnection is the HTTP/1.1 codec on the client side: it reads request heads (strict RFC 9112
 * parsing), frames and validates request bodies, holds pipelined requests until the one before is
 * answered, writes responses, keeps the connection alive or closes it, and splices tunnels after a 101.
 * Each request goes through the engine (`Exchange`, one reused per connection) like an HTTP/2 stream
 * does. All handlers are bound once per connection.
 */
export class HttpConnection implements Deadline, Downstream {
  readonly socket: ClientSocket;
  readonly client: ClientInfo;
  deadline = 0;
  readonly #ctx: ConnectionContext;
  readonly #exchange: Exchange;
  #state = IDLE;
  /** #head accumulates a request head that arrived in pieces. */
  #head: Buffer | undefined;
  /** #pending holds client bytes not yet handled: body bytes while connecting, or pipelined requests. */
  #pending: Buffer | undefined;
  #req: RequestHead | undefined;
  /** #bodyFlowing is true once the exchange asked for the request body. */
  #bodyFlowing = false;
  readonly #reqFramer = new BodyFramer();
  /** #trailerLimits is what the request's trailers may use of the head limits (reused per request). */
  readonly #trailerLimits: TrailerLimits = { maxFields: 0, maxBytes: 0 };
  #closeAfter = false;
  /** #chunkOut is true while a response's payload is written here in chunked framing. */
  #chunkOut = false;
  #clientPaused = false;
  #clientEnded = false;
  /** #startedAt is when the current request's head was read; #lastBodyAt when its body last moved. */
  #startedAt = 0;
  #lastBodyAt = 0;

  /** The connection starts reading `socket` at once. */
  constructor(socket: ClientSocket, ctx: ConnectionContext, options: ConnectionOptions = {}) {
    this.socket = socket;
    this.#ctx = ctx;
    this.client = new ClientInfo(
      options.origin?.address ?? socket.remoteAddress ?? '',
      options.localPort ?? socket.localPort ?? 0,
      options.listener ?? '',
      options.secure,
    );
    this.#exchange = new Exchange(ctx, this);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#exchange.onClientDrain());
    socket.on('end', () => this.#onEnd());
    socket.on('error', () => this.#onClose());
    socket.on('close', () => this.#onClose());
    this.deadline = Date.now() + ctx.snapshot.timeouts.clientIdleMs;
    ctx.sweeper.add(this);
    if (options.initial !== undefined) this.#onData(options.initial);
  }

  /** idle tells whether the connection is between requests. */
  get idle(): boolean {
    return this.#state === IDLE;
  }

  get draining(): boolean {
    return this.#ctx.draining;
  }

  get outputIdle(): boolean {
    return this.socket.writableLength === 0;
  }

  get requestBodyBytes(): number {
    return this.#reqFramer.bodyBytes;
  }

  get protocol(): string {
    return this.#req?.version === 10 ? 'HTTP/1.0' : 'HTTP/1.1';
  }

  /** drain asks the connection to close: now if idle, after the current response otherwise. */
  drain(): void {
    if (this.#state === IDLE) this.#destroy();
    else this.#closeAfter = true;
  }

  /** destroy closes the connection and any upstream it uses at once. */
  destroy(): void {
    this.#destroy();
  }

  // ---- reading --------------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    switch (this.#state) {
      case IDLE:
      case HEAD:
        this.#readHead(chunk);
        return;
      case BUSY:
        if (this.#bodyFlowing && !this.#reqFramer.done) this.#forwardBody(chunk);
        else this.#hold(chunk);
        return;
      case TUNNEL:
        this.#tunnelToUpstream(chunk);
        return;
      default:
        return; // LINGER, CLOSED: discard
    }
  }

  /** #pauseClient stops reading from the client (backpressure, or a pipelined request waiting). */
  #pauseClient(): void {
    if (this.#clientPaused) return;
    this.#clientPaused = true;
    this.socket.pause();
  }

  #resumeClient(): void {
    if (!this.#clientPaused) return;
    this.#clientPaused = false;
    this.socket.resume();
  }

  #hold(chunk: Buffer): void {
    this.#pending = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pauseClient();
  }

  #readHead(chunk: Buffer): void {
    const limits = this.#ctx.snapshot.limits;
    let buf = this.#head === undefined ? chunk : Buffer.concat([this.#head, chunk]);
    const searchFrom = this.#head === undefined ? 0 : Math.max(0, this.#head.length - 3);
    this.#head = undefined;
    if (this.#state === IDLE) {
      let skip = 0; // RFC 9112 2.2: ignore empty lines before a request line
      while (skip + 1 < buf.length && buf[skip] === 0x0d && buf[skip + 1] === 0x0a) skip += 2;
      if (skip > 0) buf = buf.subarray(skip);
      if (buf.length === 0) return;
      this.#state = HEAD;
      this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientHeadMs;
    }
    const end = buf.indexOf(CRLFCRLF, searchFrom);
    if (end < 0) {
      const lineFeed = buf.indexOf(0x0a);
      if ((lineFeed < 0 ? buf.length : lineFeed) > limits.maxRequestLineBytes) {
        this.#exchange.failHead(new PorticoProxyError('PORTICO_URI_TOO_LONG', 'request line too long'));
      } else if (buf.length > limits.maxHeadBytes) {
        this.#exchange.failHead(new PorticoProxyError('PORTICO_HEAD_TOO_LARGE', 'request head too large'));
      } else if (buf.indexOf(LFLF) >= 0) {
        this.#exchange.failHead(
          new PorticoProxyError('PORTICO_BAD_REQUEST', 'head lines must end with CRLF'),
        );
      } else {
        this.#head = buf;
      }
      return;
    }
    if (end > limits.maxHeadBytes) {
      this.#exchange.failHead(new PorticoProxyError('PORTICO_HEAD_TOO_LARGE', 'request head too large'));
      return;
    }
    const snapshot = this.#ctx.snapshot;
    const parsing = snapshot.requestParsing.get(this.client.listener) ?? snapshot.config.requestParsing;
    const req = parseRequestHead(buf, end, limits, parsing);
    if (req instanceof PorticoProxyError) {
      this.#exchange.failHead(req);
      return;
    }
    this.#begin(req, buf, end + 4);
  }

  #begin(req: RequestHead, buf: Buffer, bodyStart: number): void {
    const snapshot = this.#ctx.snapshot;
    this.#reqFramer.reset(0, true); // this request's byte counts start at zero, however it ends
    this.#req = req;
    this.#state = BUSY;
    this.#bodyFlowing = false;
    this.deadline = 0;
    this.#startedAt = Date.now();
    this.#pending = bodyStart < buf.length ? buf.subarray(bodyStart) : undefined;
    if (!req.keepAlive || this.#clientEnded) this.#closeAfter = true;
    const exchange = this.#exchange;
    if (!exchange.start(snapshot, req)) return; // answered by a filter, or refused
    const hasBody = req.bodyLength === -1 || req.bodyLength > 0;
    const trailers = this.#trailerLimits;
    trailers.maxFields = snapshot.limits.maxHeaderCount - req.fieldCount;
    trailers.maxBytes = snapshot.limits.maxHeadBytes - req.headEnd;
    const framer = this.#reqFramer;
    framer.reset(hasBody ? req.bodyLength : 0, true, trailers);
    let held: Buffer | undefined;
    const pending = this.#pending;
    if (pending !== undefined && hasBody) {
      // Body bytes that came with the head are validated before anything is sent upstream.
      const n = this.#consumeBody(pending);
      if (n < 0) return;
      held = n === pending.length ? pending : pending.subarray(0, n);
      this.#pending = n === pending.length ? undefined : pending.subarray(n);
    }
    exchange.forward(held, framer.done);
  }

  startRequestBody(): void {
    this.#bodyFlowing = true;
    if (this.#reqFramer.done) {
      if (this.#pending === undefined) this.#resumeClient();
      return;
    }
    const now = Date.now();
    this.#lastBodyAt = now;
    this.deadline = this.#bodyDeadline(now);
    const arrived = this.#pending; // body bytes that came while connecting
    this.#pending = undefined;
    this.#resumeClient();
    if (arrived !== undefined) this.#forwardBody(arrived);
  }

  pauseRequestBody(): void {
    this.#pauseClient();
  }

  resumeRequestBody(): void {
    this.#resumeClient();
  }

  /**
   * #consumeBody validates request body bytes with the framer and returns where the body ends in `chunk`,
   * or -1 when it is malformed or over the exchange's body limit (the exchange has then failed).
   */
  #consumeBody(chunk: Buffer): number {
    const framer = this.#reqFramer;
    const n = framer.consume(chunk, 0);
    if (n < 0) {
      this.#exchange.fail(framer.error!);
      return -1;
    }
    const maxBody = this.#exchange.maxBodyBytes;
    if (maxBody > 0 && framer.bodyBytes > maxBody) {
      this.#exchange.fail(new PorticoProxyError('PORTICO_BODY_TOO_LARGE', 'body too large'));
      return -1;
    }
    return n;
  }

  #forwardBody(chunk: Buffer): void {
    const framer = this.#reqFramer;
    const exchange = this.#exchange;
    const n = this.#consumeBody(chunk);
    if (n < 0) return;
    const done = framer.done;
    if (done) this.deadline = 0;
    else {
      const now = Date.now();
      this.#lastBodyAt = now;
      this.deadline = this.#bodyDeadline(now);
    }
    exchange.requestBody(n === chunk.length ? chunk : chunk.subarray(0, n), done);
    if (done && n < chunk.length && this.#state === BUSY) this.#hold(chunk.subarray(n));
  }

  /**
   * #bodyDeadline is when the request body being received must have made progress by: the idle timeout
   * from the last piece, the total body deadline from the head, and (unless the client is paused by
   * backpressure) the minimum rate: after the grace period, `limits.minClientBodyBytesPerSecond` on average.
   */
  #bodyDeadline(now: number): number {
    const timeouts = this.#exchange.timeouts;
    let at = Math.min(now + timeouts.clientBodyIdleMs, this.#startedAt + timeouts.clientBodyMs);
    const rate = this.#ctx.snapshot.limits.minClientBodyBytesPerSecond;
    if (rate > 0 && !this.#clientPaused)
      at = Math.min(
        at,
        this.#startedAt + timeouts.clientBodyRateGraceMs + (this.#reqFramer.bodyBytes * 1_000) / rate,
      );
    return at;
  }

  #onEnd(): void {
    this.#clientEnded = true;
    if (this.#state === TUNNEL) {
      this.#exchange.endTunnel();
      return;
    }
    if (this.#state === IDLE || this.#state === HEAD || this.#state === LINGER) this.#destroy();
    else if (this.#bodyCannotComplete())
      this.#destroy(); // the upstream connection is never pooled
    else this.#closeAfter = true;
  }

  /** #bodyCannotComplete tells, once the client has half-closed, whether its request body is cut short. */
  #bodyCannotComplete(): boolean {
    return (
      this.#state === BUSY && !this.#reqFramer.done && (this.#bodyFlowing || this.#pending === undefined)
    );
  }

  #onClose(): void {
    if (this.#state === CLOSED) return;
    this.#destroy();
  }

  onDeadline(): void {
    this.deadline = 0;
    switch (this.#state) {
      case IDLE:
      case LINGER:
      case TUNNEL: // no byte either way for timeouts.clientIdleMs
        this.#destroy();
        return;
      case HEAD:
        this.#exchange.failHead(new PorticoProxyError('PORTICO_CLIENT_TIMEOUT', 'request head timeout'));
        return;
      case BUSY:
        if (this.#reqFramer.done || !this.#bodyFlowing) return;
        if (this.#clientPaused) {
          // Paused by the upstream's backpressure: the rate is not the client's fault, the rest still holds.
          const timeouts = this.#exchange.timeouts;
          const at = Math.min(
            this.#lastBodyAt + timeouts.clientBodyIdleMs,
            this.#startedAt + timeouts.clientBodyMs,
          );
          if (at > Date.now()) {
            this.deadline = at;
            return;
          }
        }
        this.#exchange.fail(
          new PorticoProxyError('PORTICO_CLIENT_TIMEOUT', 'request body too slow or stalled'),
        );
        return;
    }
  }

  // ---- writing (Downstream) ------------------------------------------------------------------

  sendInterim(res: ResponseHead): void {
    writeHead(this.socket, downstreamResponsePlan(res, false), undefined, 0, 0);
  }

  sendResponseHead(res: ResponseHead, lines: string, buf: Buffer, start: number, end: number): boolean {
    let head = res;
    if (res.fields !== undefined && res.framing === -1 && this.#req!.version === 10) {
      head = { ...res, framing: -2, bodyLength: -2 }; // HTTP/1.0 reads no chunks: the close ends the body
    }
    if (head.bodyLength === -2 || !this.#reqFramer.done || this.#ctx.draining) this.#closeAfter = true;
    // A response from HTTP/2 brings payload: framed here, chunked when its length is not known.
    this.#chunkOut = head.fields !== undefined && head.framing === -1;
    return writeHead(this.socket, downstreamResponsePlan(head, this.#closeAfter, lines), buf, start, end);
  }

  sendResponseBody(chunk: Buffer): boolean {
    return this.#chunkOut ? writeChunk(this.socket, chunk) : this.socket.write(chunk);
  }

  responseComplete(trailers?: readonly string[]): void {
    if (this.#chunkOut) {
      this.#chunkOut = false;
      let last = '0\r\n';
      if (trailers !== undefined)
        for (let i = 0; i < trailers.length; i += 2) last += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      this.socket.write(`${last}\r\n`, 'latin1');
    }
    if (this.#closeAfter || !this.#reqFramer.done) this.#closeGracefully();
    else this.#nextRequest();
  }

  reply(reply: LocalReply): void {
    const close = this.#mustClose();
    this.socket.write(localReply(reply, close));
    if (close) this.#closeGracefully();
    else this.#nextRequest();
  }

  fail(error: PorticoProxyError, keepAlive: boolean): void {
    if (this.#state === CLOSED || this.#state === LINGER) return;
    if (keepAlive && !this.#mustClose()) {
      this.socket.write(localResponse(error.status, false));
      this.#nextRequest();
      return;
    }
    this.socket.write(localResponse(error.status, true));
    this.#closeGracefully();
  }

  abort(error: PorticoProxyError): void {
    this.#destroy(error);
  }

  /** #mustClose tells whether a local answer must close: a body is left unread, or closing was asked for. */
  #mustClose(): boolean {
    const req = this.#req;
    const hasBody = req !== undefined && (req.bodyLength === -1 || req.bodyLength > 0);
    return hasBody || this.#closeAfter || this.#ctx.draining || this.#state !== BUSY;
  }

  #nextRequest(): void {
    this.#state = IDLE;
    this.#req = undefined;
    this.#bodyFlowing = false;
    this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientIdleMs;
    const pending = this.#pending;
    this.#pending = undefined;
    this.#resumeClient();
    if (pending !== undefined) this.#readHead(pending);
  }

  // ---- tunnels (Upgrade) ----------------------------------------------------------------------

  startTunnel(res: ResponseHead, lines: string, buf: Buffer, rest: number): void {
    this.#state = TUNNEL;
    this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientIdleMs;
    writeHead(this.socket, downstreamResponsePlan(res, false, lines), buf, rest, buf.length);
    const early = this.#pending; // bytes the client sent after its request, before the 101
    this.#pending = undefined;
    this.#resumeClient();
    if (early !== undefined) this.#tunnelToUpstream(early);
  }

  #tunnelToUpstream(chunk: Buffer): void {
    this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientIdleMs;
    if (!this.#exchange.tunnelToUpstream(chunk)) this.#pauseClient();
  }

  tunnelToClient(chunk: Buffer): boolean {
    this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientIdleMs;
    return this.socket.write(chunk);
  }

  tunnelEnded(): void {
    this.#closeGracefully();
  }

  // ---- ends -----------------------------------------------------------------------------------

  /** #closeGracefully ends the client connection after what was written, discarding further input. */
  #closeGracefully(): void {
    this.#state = LINGER;
    this.#pending = undefined;
    this.#head = undefined;
    this.deadline = Date.now() + LINGER_MS;
    this.socket.end();
    this.#resumeClient();
  }

  /**
   * #destroy closes the connection and its upstream at once. An exchange still open is reported: with
   * `cause` (the upstream's fault, under the status already sent) or as a client abort (499).
   */
  #destroy(cause?: PorticoProxyError): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.deadline = 0;
    this.#exchange.abort(cause);
    this.#pending = undefined;
    this.#head = undefined;
    this.socket.destroy();
    this.#ctx.sweeper.delete(this);
    this.#ctx.connectionClosed(this);
  }
}

/**
 * ClientSocket is what a connection reads requests from and writes responses to: a `net.Socket` or a TLS
 * socket.
 */
export type ClientSocket = Duplex & {
  readonly remoteAddress?: string | undefined;
  readonly localPort?: number | undefined;
};

export type { SecureInfo };

/** ConnectionOptions describe where a connection came from. */
export interface ConnectionOptions {
  /** origin is the client named by a PROXY protocol header, used instead of the socket's peer. */
  readonly origin?: { readonly address: string; readonly port: number } | undefined;
  /** initial holds bytes already read from the socket (after a PROXY protocol header). */
  readonly initial?: Buffer | undefined;
  /** localPort is the port the client connected to, when the socket cannot tell. */
  readonly localPort?: number | undefined;
  /** listener is the accepting listener's name (for its HTTPS redirect). */
  readonly listener?: string | undefined;
  /** secure is set when Portico terminated TLS. */
  readonly secure?: SecureInfo | undefined;
}
