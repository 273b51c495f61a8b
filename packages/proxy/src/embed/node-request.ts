import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionContext } from '../http/connection-context.ts';
import type { RequestHead } from '../http/request-head.ts';
import type { ResponseHead } from '../http/response-head.ts';
import { STATUS_CODES } from '../http/status-codes.ts';
import { ChunkedDecoder } from '../http2/chunked-decoder.ts';
import { responseHeaders } from '../http2/h2-response-headers.ts';
import { ClientInfo } from '../pipeline/client-info.ts';
import type { Downstream } from '../pipeline/downstream.ts';
import { Exchange } from '../pipeline/exchange.ts';
import type { LocalReply } from '../pipeline/local-reply.ts';
import type { PorticoProxyError } from '../proxy-error.ts';

/** clients caches each socket's ClientInfo, so keep-alive requests share their forwarding lines. */
const clients = new WeakMap<Socket, ClientInfo>();

/**
 * NodeRequest is one `node:http` request and response (of an app that owns its server, or Fastify's raw
 * ones) as the engine's client side: the request, already parsed by Node, is mapped onto the message
 * model and goes through the same `Exchange` as the standalone proxy's requests (routing, filters,
 * balancing, health, retries, upstream TLS, outcomes); the response is written through Node's
 * `ServerResponse`, which frames it. `done` settles when the exchange is over.
 */
export class NodeRequest implements Downstream {
  readonly client: ClientInfo;
  readonly done: Promise<void>;
  readonly #ctx: ConnectionContext;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #exchange: Exchange;
  #head: RequestHead | undefined;
  #decoder: ChunkedDecoder | undefined;
  /** #lastData is the body of a response that came whole with its head. */
  #lastData: Buffer | undefined;
  #bodyBytes = 0;
  #flowing = false;
  #over = false;
  #settle: () => void = () => {};

  constructor(req: IncomingMessage, res: ServerResponse, ctx: ConnectionContext) {
    this.#req = req;
    this.#res = res;
    this.#ctx = ctx;
    this.client = clientOf(req.socket);
    this.#exchange = new Exchange(ctx, this);
    this.done = new Promise((resolve) => {
      this.#settle = resolve;
    });
    res.on('drain', () => this.#exchange.onClientDrain());
    res.on('close', () => this.#onClose());
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

  get protocol(): string {
    return `HTTP/${this.#req.httpVersion}`;
  }

  /** start runs the exchange for `head`, or answers `error` when the request could not be mapped. */
  start(head: RequestHead | PorticoProxyError): void {
    if (!('method' in head)) {
      this.#exchange.failHead(head);
      return;
    }
    this.#head = head;
    if (this.#exchange.start(this.#ctx.snapshot, head))
      this.#exchange.forward(undefined, head.bodyLength === -2 || head.bodyLength === 0);
  }

  startRequestBody(): void {
    if (this.#flowing || this.#over) return;
    const head = this.#head!;
    if (head.bodyLength === -2 || head.bodyLength === 0) return;
    this.#flowing = true;
    const req = this.#req;
    req.on('data', (chunk: Buffer) => {
      if (this.#over) return;
      this.#bodyBytes += chunk.length;
      this.#exchange.requestData(chunk);
    });
    req.on('end', () => {
      if (!this.#over) this.#exchange.requestDataEnd();
    });
  }

  pauseRequestBody(): void {
    this.#req.pause();
  }

  resumeRequestBody(): void {
    if (this.#flowing) this.#req.resume();
  }

  sendInterim(_res: ResponseHead): void {
    // Node's ServerResponse answers Expect: 100-continue itself; other 1xx are not passed on.
  }

  sendResponseHead(
    res: ResponseHead,
    lines: string,
    buf: Buffer,
    start: number,
    end: number,
    last: boolean,
  ): boolean {
    const headers = responseHeaders(res, lines);
    delete headers[':status'];
    this.#res.writeHead(res.status, headers);
    if (res.bodyLength === -1 && res.fields === undefined) this.#decoder = new ChunkedDecoder();
    if (end <= start) return true;
    if (last && this.#decoder === undefined) {
      this.#lastData = buf.subarray(start, end); // sent with the end: one write
      return true;
    }
    return this.sendResponseBody(buf.subarray(start, end));
  }

  sendResponseBody(chunk: Buffer): boolean {
    if (this.#decoder !== undefined) this.#decoder.decode(chunk, this);
    else this.#res.write(chunk);
    return !this.#res.writableNeedDrain;
  }

  /** onData receives the payload the chunked decoder found. */
  onData(data: Buffer): void {
    this.#res.write(data);
  }

  responseComplete(trailers?: readonly string[]): void {
    this.#finish();
    if (trailers !== undefined && trailers.length > 0 && !this.#res.hasHeader('content-length')) {
      const out: [string, string][] = [];
      for (let i = 0; i < trailers.length; i += 2) out.push([trailers[i]!, trailers[i + 1]!]);
      this.#res.addTrailers(out);
    }
    const data = this.#lastData;
    this.#lastData = undefined;
    if (data === undefined) this.#res.end();
    else this.#res.end(data);
  }

  reply(reply: LocalReply): void {
    this.#finish();
    const res = this.#res;
    const fields = reply.fields;
    for (let i = 0; i < fields.length; i += 2) res.setHeader(fields[i]!, fields[i + 1]!);
    res.statusCode = reply.status;
    res.end(reply.body ?? '');
  }

  fail(error: PorticoProxyError, _keepAlive: boolean): void {
    this.#finish();
    const res = this.#res;
    if (res.headersSent) {
      res.destroy(error);
      return;
    }
    res.writeHead(error.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\n`);
  }

  abort(error: PorticoProxyError): void {
    this.#finish();
    this.#res.destroy(error);
  }

  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    this.#settle();
  }

  #onClose(): void {
    if (this.#over) return;
    this.#finish();
    this.#exchange.abort(); // the client went away before the response was complete
  }
}

/** clientOf returns the ClientInfo of `socket`, made on its first request. */
function clientOf(socket: Socket): ClientInfo {
  let client = clients.get(socket);
  if (client === undefined) {
    const tls = socket as Socket & {
      encrypted?: boolean;
      servername?: string | false;
      getProtocol?(): string | null;
      getCipher?(): { name: string } | undefined;
    };
    client = new ClientInfo(
      socket.remoteAddress ?? '',
      socket.localPort ?? 0,
      '',
      tls.encrypted === true
        ? {
            lines: '',
            drop: undefined,
            servername: typeof tls.servername === 'string' ? tls.servername.toLowerCase() : undefined,
            version: tls.getProtocol?.() ?? undefined,
            cipher: tls.getCipher?.()?.name,
          }
        : undefined,
    );
    clients.set(socket, client);
  }
  return client;
}

/**
 * headerListOf presents a `node:http` request in the form `headerListRequestHead` reads: its headers with
 * `:method`, `:path` and `:authority` added. `endStream` is true when it carries no body.
 */
export function headerListOf(req: IncomingMessage): { headers: IncomingHttpHeaders; endStream: boolean } {
  const headers: IncomingHttpHeaders = {
    ...req.headers,
    ':method': req.method ?? 'GET',
    ':path': req.url ?? '/',
    ':authority': req.headers.host,
  } as IncomingHttpHeaders;
  const length = req.headers['content-length'];
  const endStream =
    req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
  return { headers, endStream };
}
