import type { Transform } from 'node:stream';
import { brotliCompressSync, constants, createBrotliCompress, createGzip, gzipSync } from 'node:zlib';
import { ChunkedDecoder } from '../http2/chunked-decoder.ts';

/** ContentCoding is a compression a route offers: its token and how to make its stream. */
export interface ContentCoding {
  /** name is the coding's token in Content-Encoding (`gzip`, `br`). */
  readonly name: 'gzip' | 'br';
  /** create makes a compressing stream for one response; `sizeHint` is its length in bytes when known (else -1). */
  create(sizeHint: number): Transform;
  /** compress compresses a whole body at once, on the calling thread. */
  compress(body: Buffer): Buffer;
}

/** gzipCoding compresses at zlib `level` (1-9). */
export function gzipCoding(level: number): ContentCoding {
  const options = { level };
  return {
    name: 'gzip',
    create: () => createGzip(options),
    compress: (body) => gzipSync(body, options),
  };
}

/** brotliCoding compresses at brotli `quality` (0-11), in text mode. */
export function brotliCoding(quality: number): ContentCoding {
  const params = {
    [constants.BROTLI_PARAM_QUALITY]: quality,
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
  };
  const withHint = (size: number) =>
    size < 0 ? { params } : { params: { ...params, [constants.BROTLI_PARAM_SIZE_HINT]: size } };
  return {
    name: 'br',
    // The size hint lets brotli size its window and buffers to the body instead of its 4 MiB default.
    create: (sizeHint) => createBrotliCompress(withHint(sizeHint)),
    compress: (body) => brotliCompressSync(body, withHint(body.length)),
  };
}

/** EncodedSink receives what a ResponseEncoder produces; `encoder` says which (an exchange outlives one). */
export interface EncodedSink {
  /** onEncoded takes compressed bytes for the client. */
  onEncoded(encoder: ResponseEncoder, chunk: Buffer): void;
  /** onEncoderDrain says the encoder takes input again after `write` returned false. */
  onEncoderDrain(encoder: ResponseEncoder): void;
  /** onEncodedEnd says every compressed byte was handed over. */
  onEncodedEnd(encoder: ResponseEncoder): void;
  onEncoderError(encoder: ResponseEncoder, error: Error): void;
}

/**
 * ResponseEncoder compresses one response body on its way to the client. It takes the body as the upstream
 * framed it (HTTP/1.1 chunked framing is taken off first) or as payload, and hands compressed bytes to its
 * sink. Backpressure runs both ways: `write` returns false while the compressor holds more than its
 * buffer (pause the upstream until `onEncoderDrain`), and `pause` stops output while the client is full.
 * Input buffers are referenced until compressed, so they must not be reused by their producer.
 */
export class ResponseEncoder {
  readonly coding: ContentCoding;
  readonly #stream: Transform;
  readonly #decoder: ChunkedDecoder | undefined;
  #sink: EncodedSink | undefined;
  #flowing = true;

  /**
   * `length` is the body's length in bytes, -1 when it arrives in HTTP/1.1 chunked framing, -2 when it
   * is payload of unknown length.
   */
  constructor(coding: ContentCoding, sink: EncodedSink, length: number) {
    this.coding = coding;
    this.#sink = sink;
    this.#decoder = length === -1 ? new ChunkedDecoder() : undefined;
    const stream = coding.create(length >= 0 ? length : -1);
    this.#stream = stream;
    stream.on('data', (chunk: Buffer) => this.#sink?.onEncoded(this, chunk));
    stream.on('drain', () => this.#sink?.onEncoderDrain(this));
    stream.on('end', () => this.#sink?.onEncodedEnd(this));
    stream.on('error', (error: Error) => this.#sink?.onEncoderError(this, error));
  }

  /** write compresses body bytes; false when the compressor is full (wait for `onEncoderDrain`). */
  write(bytes: Buffer): boolean {
    if (this.#decoder === undefined) return this.#stream.write(bytes);
    this.#decoder.decode(bytes, this);
    return !this.#stream.writableNeedDrain;
  }

  /** onData takes payload the chunked decoder found. */
  onData(data: Buffer): void {
    if (data.length > 0) this.#stream.write(data);
  }

  /** end finishes the compressed stream: the rest comes out, then `onEncodedEnd`. */
  end(): void {
    this.#stream.end();
  }

  /** pause holds compressed output while the client is full; resume lets it flow again. */
  pause(): void {
    if (!this.#flowing) return;
    this.#flowing = false;
    this.#stream.pause();
  }

  resume(): void {
    if (this.#flowing) return;
    this.#flowing = true;
    this.#stream.resume();
  }

  /** destroy drops the stream and tells the sink nothing more. */
  destroy(): void {
    this.#sink = undefined;
    this.#stream.destroy();
  }
}
