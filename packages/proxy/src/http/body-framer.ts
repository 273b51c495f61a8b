import { PorticoProxyError } from '../proxy-error.ts';

/** States of the chunked-body scanner. */
const SIZE = 0;
const EXT = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER_START = 6;
const TRAILER = 7;
const TRAILER_LF = 8;
const FINAL_LF = 9;
const DONE = 10;

/** MAX_CHUNK_SIZE_DIGITS bounds a chunk-size line so sizes stay exact integers. */
const MAX_CHUNK_SIZE_DIGITS = 12;
/** MAX_FRAMING_LINE_BYTES bounds a chunk extension or trailer line. */
const MAX_FRAMING_LINE_BYTES = 4_096;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

/**
 * BodyFramer finds where a message body ends in a stream of bytes without copying them: a fixed
 * Content-Length, a chunked body (validated byte by byte on its framing lines, skipped over in bulk on its
 * data), or a body that runs to the end of the connection. Bytes are forwarded as received, so a chunked
 * body reaches the other side exactly as validated.
 */
export class BodyFramer {
  /** remaining is the count of body bytes still expected: of the whole body, or of the current chunk. */
  remaining = 0;
  /** bodyBytes counts the payload bytes seen (chunk data, not framing). */
  bodyBytes = 0;
  /** error is set when the body is malformed; the connection must then be closed. */
  error: PorticoProxyError | undefined;
  #chunked = false;
  #untilClose = false;
  #state = DONE;
  #digits = 0;
  #lineBytes = 0;
  #isRequest = true;

  /** reset prepares for a body of `length` bytes (-1 chunked, -2 until close, 0 none). */
  reset(length: number, isRequest: boolean): void {
    this.error = undefined;
    this.bodyBytes = 0;
    this.#isRequest = isRequest;
    this.#chunked = length === -1;
    this.#untilClose = length === -2;
    this.remaining = Math.max(length, 0);
    this.#state = length === -1 ? SIZE : DONE;
    this.#digits = 0;
    this.#lineBytes = 0;
  }

  /** done tells whether the whole body has been seen. */
  get done(): boolean {
    if (this.#untilClose) return false;
    return this.#chunked ? this.#state === DONE : this.remaining === 0;
  }

  /**
   * consume scans `buf` from `start` and returns the index just past the end of the body if it ends in
   * this buffer, `buf.length` if all of the rest belongs to the body, or -1 if the body is malformed
   * (then `error` says why). Only the bytes before the returned index belong to this message.
   */
  consume(buf: Buffer, start: number): number {
    if (this.#untilClose) {
      this.bodyBytes += buf.length - start;
      return buf.length;
    }
    if (!this.#chunked) {
      const available = buf.length - start;
      const take = Math.min(available, this.remaining);
      this.remaining -= take;
      this.bodyBytes += take;
      return start + take;
    }
    return this.#scanChunked(buf, start);
  }

  #scanChunked(buf: Buffer, start: number): number {
    let i = start;
    const end = buf.length;
    while (i < end) {
      const state = this.#state;
      if (state === DATA) {
        const available = end - i;
        const take = Math.min(available, this.remaining);
        this.remaining -= take;
        this.bodyBytes += take;
        i += take;
        if (this.remaining === 0) this.#state = DATA_CR;
        continue;
      }
      const c = buf[i]!;
      i++;
      switch (state) {
        case SIZE: {
          const digit = HEX[c]!;
          if (digit >= 0) {
            if (++this.#digits > MAX_CHUNK_SIZE_DIGITS) return this.#fail('chunk size too large');
            this.remaining = this.remaining * 16 + digit;
          } else if (this.#digits === 0) {
            return this.#fail('invalid chunk size');
          } else if (c === 0x0d) {
            this.#state = SIZE_LF;
          } else if (c === 0x3b /* ; */) {
            this.#state = EXT;
            this.#lineBytes = 0;
          } else {
            return this.#fail('invalid character after chunk size');
          }
          break;
        }
        case EXT:
          if (c === 0x0d) this.#state = SIZE_LF;
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f) return this.#fail('invalid chunk extension');
          else if (++this.#lineBytes > MAX_FRAMING_LINE_BYTES) return this.#fail('chunk extension too long');
          break;
        case SIZE_LF:
          if (c !== 0x0a) return this.#fail('chunk size line not ended by CRLF');
          this.#digits = 0;
          if (this.remaining === 0) {
            this.#state = TRAILER_START;
          } else {
            this.#state = DATA;
          }
          break;
        case DATA_CR:
          if (c !== 0x0d) return this.#fail('chunk data not followed by CRLF');
          this.#state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== 0x0a) return this.#fail('chunk data not followed by CRLF');
          this.#state = SIZE;
          break;
        case TRAILER_START:
          if (c === 0x0d) this.#state = FINAL_LF;
          else if (c === 0x20 || c === 0x09 || c === 0x3a || c < 0x20 || c === 0x7f) {
            return this.#fail('invalid trailer field');
          } else {
            this.#state = TRAILER;
            this.#lineBytes = 1;
          }
          break;
        case TRAILER:
          if (c === 0x0d) this.#state = TRAILER_LF;
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f) return this.#fail('invalid trailer field');
          else if (++this.#lineBytes > MAX_FRAMING_LINE_BYTES) return this.#fail('trailer field too long');
          break;
        case TRAILER_LF:
          if (c !== 0x0a) return this.#fail('trailer line not ended by CRLF');
          this.#state = TRAILER_START;
          break;
        case FINAL_LF:
          if (c !== 0x0a) return this.#fail('chunked body not ended by CRLF');
          this.#state = DONE;
          return i;
        default:
          return i - 1;
      }
    }
    return i;
  }

  #fail(message: string): number {
    this.error = new PorticoProxyError(
      this.#isRequest ? 'PORTICO_BAD_FRAMING' : 'PORTICO_UPSTREAM_BAD_RESPONSE',
      message,
    );
    return -1;
  }
}
