import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Deadline } from '../deadline-sweeper.ts';
import type { ConnectionContext } from '../http/connection-context.ts';
import type { RequestHead } from '../http/request-head.ts';
import type { ResponseHead } from '../http/response-head.ts';
import { STATUS_CODES } from '../http/status-codes.ts';
import type { ClientInfo } from '../pipeline/client-info.ts';
import type { Downstream } from '../pipeline/downstream.ts';
import { Exchange } from '../pipeline/exchange.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';
import { PorticoProxyError } from '../proxy-error.ts';
import { ChunkedDecoder } from './chunked-decoder.ts';
import { HTTP2_HEADER_STATUS } from './h2-constants.ts';
import { responseHeaders, trailerFields } from './h2-response-headers.ts';

/** OWNER is where a stream keeps its H2Stream, for the shared listeners below. */
const OWNER = Symbol('portico.h2stream');
type OwnedStream = ServerHttp2Stream & { [OWNER]: H2Stream };

function onStreamData(this: OwnedStream, chunk: Buffer): void {
  this[OWNER].onStreamEvent(0, chunk);
}
function onStreamEnd(this: OwnedStream): void {
  this[OWNER].onStreamEvent(1);
}
function onStreamDrain(this: OwnedStream): void {
  this[OWNER].onStreamEvent(2);
}
function onStreamClose(this: OwnedStream): void {
  this[OWNER].onStreamEvent(3);
}

/**
 * H2Stream is one HTTP/2 request stream as the engine's client side: its request, mapped onto the message
 * model by `headerListRequestHead`, goes through the same `Exchange` as an HTTP/1.1 request; the response head is
 * mapped from the upstream's field lines straight to an HTTP/2 header list, and its body (de-chunked when
 * the upstream chunked it) is written as DATA frames. Backpressure holds both ways: a full stream pauses
 * the upstream, a slow upstream pauses the stream (and so HTTP/2 flow control). The request body must keep
 * moving: `timeouts.clientBodyIdleMs` between pieces and `timeouts.clientBodyMs` in all.
 */
export class H2Stream implements Downstream, Deadline {
  readonly client: ClientInfo;
  deadline = 0;
  readonly #ctx: ConnectionContext;
  readonly #stream: ServerHttp2Stream;
  readonly #exchange: Exchange;
  #req: RequestHead | undefined;
  /** #held keeps request data that arrived before the exchange asked for it (while connecting). */
  #held: Buffer[] | undefined;
  #flowing = false;
  /** #requestEnded is true once the client ended its side of the stream. */
  #requestEnded = false;
  /** #endSent is true once the end of the request body went to the exchange. */
  #endSent = false;
  #bodyBytes = 0;
  #startedAt = 0;
  /** #decoder takes the payload out of a chunked upstream body. */
  #decoder: ChunkedDecoder | undefined;
  /** #lastData is the body of a response that came whole with its head, sent by `end(data)`. */
  #lastData: Buffer | undefined;
  /** #collecting is true while such a body is decoded into #lastData. */
  #collecting = false;
  /** #trailersWanted is true when the response was started to end with trailers. */
  #trailersWanted = false;
  /** #over is true once the exchange ended: nothing more is written. */
  #over = false;

  constructor(stream: ServerHttp2Stream, client: ClientInfo, ctx: ConnectionContext, endStream: boolean) {
    this.#stream = stream;
    this.client = client;
    this.#ctx = ctx;
    this.#requestEnded = endStream;
    this.#exchange = new Exchange(ctx, this);
    // Shared listeners (the stream carries its H2Stream), so a stream costs no closures.
    (stream as OwnedStream)[OWNER] = this;
    if (!endStream) {
      // A request without a body is never read: reading its (empty) end would let the stream destroy
      // itself before the response's last write completes, which costs Node an error object per stream.
      stream.on('data', onStreamData);
      stream.on('end', onStreamEnd);
    }
    stream.on('drain', onStreamDrain);
    stream.on('close', onStreamClose);
  }

  /** onStreamEvent dispatches the stream's events (called by the shared listeners). */
  onStreamEvent(event: 0 | 1 | 2 | 3, chunk?: Buffer): void {
    if (event === 0) this.#onData(chunk!);
    else if (event === 1) this.#onRequestEnd();
    else if (event === 2) this.#exchange.onClientDrain();
    else this.#onClose();
  }

  get draining(): boolean {
    return this.#ctx.draining;
  }

  /** outputIdle is false: the stream's writes go through buffers Portico cannot see into. */
  get outputIdle(): boolean {
    return false;
  }

  get requestBodyBytes(): number {
    return this.#bodyBytes;
  }

  readonly protocol = 'HTTP/2';

  /** start runs the exchange for `req`, or answers `error` when the request could not be mapped. */
  start(req: RequestHead | PorticoProxyError): void {
    if (req instanceof PorticoProxyError) {
      this.#exchange.failHead(req);
      return;
    }
    this.#req = req;
    this.#startedAt = Date.now();
    if (!this.#exchange.start(this.#ctx.snapshot, req)) return;
    this.#endSent = this.#requestEnded;
    this.#exchange.forward(undefined, this.#requestEnded);
  }

  #onData(chunk: Buffer): void {
    if (this.#over) return;
    this.#bodyBytes += chunk.length;
    const maxBody = this.#exchange.maxBodyBytes;
    if (maxBody > 0 && this.#bodyBytes > maxBody) {
      this.#exchange.fail(new PorticoProxyError('PORTICO_BODY_TOO_LARGE', 'body too large'));
      return;
    }
    if (!this.#flowing) {
      if (this.#held === undefined) this.#held = [chunk];
      else this.#held.push(chunk);
      this.#stream.pause();
      return;
    }
    this.#bodyDeadline();
    this.#exchange.requestData(chunk);
  }

  #onRequestEnd(): void {
    this.#requestEnded = true;
    if (this.#over || !this.#flowing || this.#endSent) return;
    this.deadline = 0;
    this.#endSent = true;
    this.#exchange.requestDataEnd();
  }

  #bodyDeadline(): void {
    const timeouts = this.#exchange.timeouts;
    const now = Date.now();
    this.deadline = Math.min(now + timeouts.clientBodyIdleMs, this.#startedAt + timeouts.clientBodyMs);
  }

  startRequestBody(): void {
    if (this.#flowing) return;
    this.#flowing = true;
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) for (const chunk of held) this.#exchange.requestData(chunk);
    if (this.#requestEnded) {
      if (!this.#endSent) {
        this.#endSent = true;
        this.#exchange.requestDataEnd();
      }
      return;
    }
    this.#bodyDeadline();
    this.#ctx.sweeper.add(this);
    this.#stream.resume();
  }

  pauseRequestBody(): void {
    this.#stream.pause();
  }

  resumeRequestBody(): void {
    if (this.#flowing) this.#stream.resume();
  }

  onDeadline(): void {
    this.deadline = 0;
    if (this.#over || this.#requestEnded) return;
    this.#exchange.fail(new PorticoProxyError('PORTICO_CLIENT_TIMEOUT', 'request body too slow or stalled'));
  }

  sendInterim(res: ResponseHead): void {
    if (this.#stream.destroyed || res.status === 101) return;
    this.#stream.additionalHeaders(responseHeaders(res, ''));
  }

  sendResponseHead(
    res: ResponseHead,
    lines: string,
    buf: Buffer,
    start: number,
    end: number,
    last: boolean,
  ): boolean {
    const stream = this.#stream;
    if (stream.destroyed) return true;
    const bodyless = this.#req!.method === 'HEAD' || res.bodyLength === 0;
    // Trailers (gRPC's grpc-status) come only from an HTTP/2 upstream, to a client that accepts them.
    this.#trailersWanted = !bodyless && res.fields !== undefined && this.#req!.acceptsTrailers === true;
    stream.respond(responseHeaders(res, lines), {
      endStream: bodyless,
      waitForTrailers: this.#trailersWanted,
    });
    if (bodyless) return true;
    if (res.bodyLength === -1 && res.fields === undefined) this.#decoder = new ChunkedDecoder();
    if (!last) return end > start ? this.sendResponseBody(buf.subarray(start, end)) : true;
    // The whole response came with its head: one end(data), so no write is still pending when the
    // stream closes (Node would then build an ERR_STREAM_DESTROYED, stack and all, per stream).
    this.#collecting = true;
    if (end > start) {
      const body = buf.subarray(start, end);
      if (this.#decoder !== undefined) this.#decoder.decode(body, this);
      else this.#lastData = body;
    }
    this.#collecting = false;
    return true;
  }

  sendResponseBody(chunk: Buffer): boolean {
    const stream = this.#stream;
    if (stream.destroyed) return true;
    if (this.#decoder !== undefined) this.#decoder.decode(chunk, this);
    else stream.write(chunk);
    return !stream.writableNeedDrain;
  }

  /** onData receives the payload the chunked decoder found. */
  onData(data: Buffer): void {
    if (!this.#collecting) {
      this.#stream.write(data);
      return;
    }
    if (this.#lastData !== undefined) this.#stream.write(this.#lastData);
    this.#lastData = data;
  }

  responseComplete(trailers?: readonly string[]): void {
    this.#finish();
    const stream = this.#stream;
    const data = this.#lastData;
    this.#lastData = undefined;
    if (stream.destroyed || stream.writableEnded) return;
    if (this.#trailersWanted) {
      stream.once('wantTrailers', () => stream.sendTrailers(trailerFields(trailers ?? [])));
    }
    if (data === undefined) stream.end();
    else stream.end(data);
  }

  reply(reply: LocalReply): void {
    this.#finish();
    const stream = this.#stream;
    if (stream.destroyed || stream.headersSent) return;
    const headers: OutgoingHttpHeaders = { [HTTP2_HEADER_STATUS]: reply.status };
    const fields = reply.fields;
    for (let i = 0; i < fields.length; i += 2) headers[fields[i]!] = fields[i + 1]!;
    const body = reply.body ?? '';
    stream.respond(headers, { endStream: body === '' });
    if (body !== '') stream.end(body);
  }

  fail(error: PorticoProxyError, _keepAlive: boolean): void {
    this.#finish();
    const stream = this.#stream;
    if (stream.destroyed) return;
    if (stream.headersSent) {
      stream.destroy(error);
      return;
    }
    const body = `${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\n`;
    stream.respond({
      [HTTP2_HEADER_STATUS]: error.status,
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    });
    stream.end(body);
  }

  abort(error: PorticoProxyError): void {
    this.#finish();
    // destroy(error) resets the stream with INTERNAL_ERROR and no END_STREAM before it: the client sees
    // the response cut short, never a clean end of a truncated one.
    if (!this.#stream.destroyed) this.#stream.destroy(error);
  }

  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    this.#held = undefined;
    this.deadline = 0;
    this.#ctx.sweeper.delete(this);
  }

  #onClose(): void {
    const open = !this.#over;
    this.#finish();
    if (open) this.#exchange.abort(); // the client reset the stream or the session went away
  }
}
