import {
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { Duplex } from 'node:stream';
import { ChunkedDecoder } from './chunked-decoder.ts';

const { HTTP2_HEADER_STATUS } = constants;

/** RESPONSE_CUT_SHORT is why a stream whose response did not complete is reset (INTERNAL_ERROR). */
const RESPONSE_CUT_SHORT = 'the response ended before it was complete';

/** CONNECTION_SPECIFIC are the fields HTTP/2 forbids (RFC 9113 8.2.2), never passed on in either direction. */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'http2-settings',
]);
/** FORBIDDEN_VALUE matches what no field value may hold once it becomes an HTTP/1.1 line. */
const FORBIDDEN_VALUE = /[\r\n\0]/;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

/** Response states. */
const HEAD = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_UNTIL_CLOSE = 3;
const DONE = 4;

/** SessionInfo is what every stream of one HTTP/2 connection shares. */
export interface SessionInfo {
  readonly remoteAddress: string;
  readonly localPort: number;
}

/**
 * translateRequest turns an HTTP/2 request head into an HTTP/1.1 one, or returns the reason it is refused
 * (RFC 9113 8.3): `:path` must be origin-form (or `*` for OPTIONS), `:authority` and `host` must agree, and
 * no value may hold CR, LF or NUL (nghttp2 already refuses those, and connection-specific fields; this is
 * the second lock). `chunked` frames a body of unknown length.
 */
export function translateRequest(
  headers: IncomingHttpHeaders,
  chunked: boolean,
  emptyBody: boolean,
): string | { refused: string } {
  const method = headers[':method'];
  const path = headers[':path'];
  const authority = headers[':authority'];
  const host = headers.host;
  if (method === undefined || method === 'CONNECT') return { refused: 'CONNECT is not proxied' };
  if (path === undefined || !(path.startsWith('/') || (path === '*' && method === 'OPTIONS')))
    return { refused: ':path must be origin-form' };
  if (authority !== undefined && host !== undefined && authority !== host)
    return { refused: ':authority and host disagree' };
  const target = authority ?? host;
  if (target === undefined || target === '') return { refused: 'no :authority' };
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${target}\r\n`;
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a || name === 'host' || CONNECTION_SPECIFIC.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (name === 'cookie') {
      const joined = Array.isArray(value) ? value.join('; ') : value; // RFC 9113 8.2.3
      if (FORBIDDEN_VALUE.test(joined)) return { refused: `invalid ${name} value` };
      head += `cookie: ${joined}\r\n`;
      continue;
    }
    for (const one of Array.isArray(value) ? value : [value]) {
      if (FORBIDDEN_VALUE.test(one)) return { refused: `invalid ${name} value` };
      head += `${name}: ${one}\r\n`;
    }
  }
  if (chunked && headers['content-length'] === undefined) head += 'transfer-encoding: chunked\r\n';
  else if (emptyBody && headers['content-length'] === undefined && method !== 'GET' && method !== 'HEAD')
    head += 'content-length: 0\r\n';
  return `${head}connection: close\r\n\r\n`;
}

/**
 * H2StreamBridge presents one HTTP/2 stream as an HTTP/1.1 client connection, so the HTTP/1.1 engine
 * routes, balances, limits and forwards it like any other request over the same upstream pools. Reading it
 * yields the translated request head and the body (chunked when its length is unknown); what the engine
 * writes back is the HTTP/1.1 response, turned into HTTP/2 headers (connection-specific fields dropped)
 * and DATA frames. Backpressure holds both ways: a full stream delays the write callback, and a full read
 * buffer pauses the stream.
 */
export class H2StreamBridge extends Duplex {
  readonly remoteAddress: string;
  readonly localPort: number;
  readonly #stream: ServerHttp2Stream;
  readonly #chunked: boolean;
  readonly #head: boolean;
  #state = HEAD;
  #pendingHead: Buffer | undefined;
  #remaining = 0;
  readonly #decoder = new ChunkedDecoder();
  #writeCallback: ((error?: Error | null) => void) | undefined;

  constructor(stream: ServerHttp2Stream, head: string, chunked: boolean, info: SessionInfo) {
    super({ allowHalfOpen: true });
    this.remoteAddress = info.remoteAddress;
    this.localPort = info.localPort;
    this.#stream = stream;
    this.#chunked = chunked;
    this.#head = head.startsWith('HEAD ');
    this.push(Buffer.from(head, 'latin1'));
    stream.on('data', (chunk: Buffer) => this.#onRequestData(chunk));
    stream.on('end', () => this.#onRequestEnd());
    stream.on('drain', () => this.#onStreamDrain());
    stream.on('close', () => this.destroy());
    stream.on('error', () => this.destroy());
  }

  override _read(): void {
    this.#stream.resume();
  }

  #onRequestData(chunk: Buffer): void {
    let more: boolean;
    if (this.#chunked) {
      this.push(Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'));
      this.push(chunk);
      more = this.push(CRLF);
    } else {
      more = this.push(chunk);
    }
    if (!more) this.#stream.pause();
  }

  #onRequestEnd(): void {
    if (this.#chunked) this.push(LAST_CHUNK);
    this.push(null);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#stream.destroyed) {
      callback();
      return;
    }
    const flushed = this.#onResponseBytes(chunk);
    if (flushed) callback();
    else this.#writeCallback = callback;
  }

  #onStreamDrain(): void {
    const callback = this.#writeCallback;
    this.#writeCallback = undefined;
    callback?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#state === BODY_UNTIL_CLOSE) this.#finish();
    callback();
    this.destroy();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const stream = this.#stream;
    // destroy(error) resets the stream with INTERNAL_ERROR and no END_STREAM before it; close(code) would
    // end the writable side first, so the client would see a clean end of a truncated response.
    if (this.#state !== DONE && !stream.destroyed) stream.destroy(error ?? new Error(RESPONSE_CUT_SHORT));
    this.#onStreamDrain();
    callback(error);
  }

  /** #onResponseBytes handles response bytes from the engine; false when the stream is full. */
  #onResponseBytes(chunk: Buffer): boolean {
    let buf = chunk;
    let flushed = true;
    while (buf.length > 0 && this.#state !== DONE) {
      if (this.#state === HEAD) {
        const joined = this.#pendingHead === undefined ? buf : Buffer.concat([this.#pendingHead, buf]);
        const end = joined.indexOf(CRLFCRLF);
        if (end < 0) {
          this.#pendingHead = joined;
          return true;
        }
        this.#pendingHead = undefined;
        this.#onResponseHead(joined.toString('latin1', 0, end));
        buf = joined.subarray(end + 4);
        continue;
      }
      if (this.#state === BODY_CHUNKED) {
        const used = this.#decoder.decode(buf, this);
        if (this.#decoder.done) this.#finish();
        buf = buf.subarray(used);
        continue;
      }
      const n = this.#state === BODY_LENGTH ? Math.min(this.#remaining, buf.length) : buf.length;
      flushed = this.#stream.write(n === buf.length ? buf : buf.subarray(0, n)) && flushed;
      this.#remaining -= n;
      buf = buf.subarray(n);
      if (this.#state === BODY_LENGTH && this.#remaining === 0) this.#finish();
    }
    return flushed && !this.#stream.writableNeedDrain;
  }

  /** onData receives decoded chunk data. */
  onData(data: Buffer): void {
    this.#stream.write(data);
  }

  #onResponseHead(text: string): void {
    const lines = text.split('\r\n');
    const status = Number(lines[0]!.slice(9, 12));
    const headers: OutgoingHttpHeaders = { [HTTP2_HEADER_STATUS]: status };
    let length = -2;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      if (name === 'transfer-encoding') chunked = true;
      if (CONNECTION_SPECIFIC.has(name)) continue;
      const previous = headers[name];
      if (previous === undefined) headers[name] = value;
      else if (Array.isArray(previous)) previous.push(value);
      else headers[name] = [String(previous), value];
    }
    if (status < 200) {
      if (status !== 101) this.#stream.additionalHeaders(headers);
      return;
    }
    const bodyless = this.#head || status === 204 || status === 304 || length === 0;
    if (this.#stream.destroyed) {
      this.#state = DONE;
      return;
    }
    this.#stream.respond(headers, { endStream: bodyless });
    if (bodyless) this.#state = DONE;
    else if (chunked) this.#state = BODY_CHUNKED;
    else if (length > 0) {
      this.#state = BODY_LENGTH;
      this.#remaining = length;
    } else this.#state = BODY_UNTIL_CLOSE;
  }

  #finish(): void {
    this.#state = DONE;
    if (!this.#stream.destroyed) this.#stream.end();
  }
}

/** refuseStream answers a request the bridge will not translate with a 400 and no body. */
export function refuseStream(stream: ServerHttp2Stream, reason: string): void {
  if (stream.destroyed) return;
  stream.respond({ [HTTP2_HEADER_STATUS]: 400, 'content-type': 'text/plain' });
  stream.end(`${reason}\n`);
}
