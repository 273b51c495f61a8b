import { PorticoProxyError } from '../proxy-error.ts';
import { FIELD_VALUE, TOKEN } from './char-classes.ts';

/** States of the chunked-body scanner. */
const SIZE = 0;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER_START = 6;
const TRAILER_LF = 8;
const FINAL_LF = 9;
const DONE = 10;
/** Chunk extension states (RFC 9112 7.1.1): `;` BWS name [BWS `=` BWS (token | quoted-string)]. */
const EXT_PRE_NAME = 11;
const EXT_NAME = 12;
const EXT_POST_NAME = 13;
const EXT_PRE_VALUE = 14;
const EXT_TOKEN_VALUE = 15;
const EXT_QUOTED = 16;
const EXT_QUOTED_ESCAPE = 17;
const EXT_POST_VALUE = 18;
/** Trailer field states: a token name, a colon, a field value. */
const TRAILER_NAME = 19;
const TRAILER_VALUE = 20;

/** MAX_CHUNK_SIZE_DIGITS bounds a chunk-size line so sizes stay exact integers. */
const MAX_CHUNK_SIZE_DIGITS = 12;
/** MAX_FRAMING_LINE_BYTES bounds a chunk extension or trailer line. */
const MAX_FRAMING_LINE_BYTES = 4_096;
/** MAX_TRAILER_NAME_BYTES bounds the trailer names kept to compare with FORBIDDEN_TRAILERS. */
const MAX_TRAILER_NAME_BYTES = 64;

/**
 * FORBIDDEN_TRAILERS are the fields that must not be sent as trailers (RFC 9110 6.5.1: framing, routing,
 * request modifiers, authentication, response control, content processing) plus the forwarding fields
 * Portico writes. A trailer naming one is refused: it is how smuggling probes hide framing.
 */
const FORBIDDEN_TRAILERS = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'max-forwards',
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'cache-control',
  'authorization',
  'proxy-authorization',
  'www-authenticate',
  'proxy-authenticate',
  'cookie',
  'set-cookie',
  'age',
  'expires',
  'date',
  'location',
  'retry-after',
  'vary',
  'content-encoding',
  'content-type',
  'content-range',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'forwarded',
]);

/** QDTEXT marks the bytes allowed unescaped in a quoted-string: HTAB, SP, VCHAR but `"` and `\`, obs-text. */
const QDTEXT = new Uint8Array(FIELD_VALUE);
QDTEXT[0x22] = 0;
QDTEXT[0x5c] = 0;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

/** TrailerLimits bound a chunked body's trailer section: what is left of the head's limits. */
export interface TrailerLimits {
  /** maxFields is how many trailer fields may follow (the head's field limit less its fields). */
  maxFields: number;
  /** maxBytes is how many bytes the trailer section may hold (the head's size limit less its size). */
  maxBytes: number;
}

/**
 * BodyFramer finds where a message body ends in a stream of bytes without copying them: a fixed
 * Content-Length, a chunked body (validated byte by byte on its framing lines, skipped over in bulk on its
 * data), or a body that runs to the end of the connection. Bytes are forwarded as received, so a chunked
 * body reaches the other side exactly as validated: chunk extensions must follow RFC 9112 7.1.1 and
 * trailer fields the head's field grammar, within what is left of the head's limits, and never name a
 * field that must not be a trailer.
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
  #trailerFields = 0;
  #trailerBytes = 0;
  #trailerName = '';
  #limits: TrailerLimits = { maxFields: 100, maxBytes: 65_536 };

  /**
   * reset prepares for a body of `length` bytes (-1 chunked, -2 until close, 0 none) whose trailers
   * stay within `limits` (kept by reference; default 100 fields and 64 KiB).
   */
  reset(length: number, isRequest: boolean, limits?: TrailerLimits): void {
    if (limits !== undefined) this.#limits = limits;
    this.#trailerFields = 0;
    this.#trailerBytes = 0;
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
            this.#state = EXT_PRE_NAME;
            this.#lineBytes = 0;
          } else {
            return this.#fail('invalid character after chunk size');
          }
          break;
        }
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
          if (c === 0x0d) {
            this.#state = FINAL_LF;
            break;
          }
          if (TOKEN[c] !== 1) return this.#fail('invalid trailer field name');
          if (++this.#trailerFields > this.#limits.maxFields) return this.#fail('too many trailer fields');
          this.#state = TRAILER_NAME;
          this.#trailerName = String.fromCharCode(c | 0x20);
          break;
        case TRAILER_NAME:
          if (c === 0x3a /* : */) {
            if (FORBIDDEN_TRAILERS.has(this.#trailerName))
              return this.#fail(`${this.#trailerName} is not allowed in trailers`);
            this.#state = TRAILER_VALUE;
          } else if (TOKEN[c] !== 1) {
            return this.#fail('invalid trailer field name');
          } else if (this.#trailerName.length < MAX_TRAILER_NAME_BYTES) {
            this.#trailerName += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
          }
          break;
        case TRAILER_VALUE:
          if (c === 0x0d) this.#state = TRAILER_LF;
          else if (FIELD_VALUE[c] !== 1) return this.#fail('invalid character in a trailer field');
          break;
        case TRAILER_LF:
          if (c !== 0x0a) return this.#fail('trailer line not ended by CRLF');
          this.#state = TRAILER_START;
          break;
        case FINAL_LF:
          if (c !== 0x0a) return this.#fail('chunked body not ended by CRLF');
          this.#state = DONE;
          return i;
        case DONE:
          return i - 1;
        default:
          if (!this.#extension(c)) return -1;
      }
      if (
        (state === TRAILER_START ||
          state === TRAILER_NAME ||
          state === TRAILER_VALUE ||
          state === TRAILER_LF) &&
        ++this.#trailerBytes > this.#limits.maxBytes
      )
        return this.#fail('trailer section too large');
    }
    return i;
  }

  /** #extension takes one byte of a chunk extension; false when it breaks RFC 9112 7.1.1 (`error` set). */
  #extension(c: number): boolean {
    if (c !== 0x0d && ++this.#lineBytes > MAX_FRAMING_LINE_BYTES)
      return this.#failed('chunk extension too long');
    const blank = c === 0x20 || c === 0x09;
    switch (this.#state) {
      case EXT_PRE_NAME:
        if (blank) return true;
        if (TOKEN[c] !== 1) return this.#failed('invalid chunk extension name');
        this.#state = EXT_NAME;
        return true;
      case EXT_NAME:
      case EXT_POST_NAME:
        if (TOKEN[c] === 1 && this.#state === EXT_NAME) return true;
        if (blank) this.#state = EXT_POST_NAME;
        else if (c === 0x3d /* = */) this.#state = EXT_PRE_VALUE;
        else if (c === 0x3b) this.#state = EXT_PRE_NAME;
        else if (c === 0x0d) this.#state = SIZE_LF;
        else return this.#failed('invalid chunk extension');
        return true;
      case EXT_PRE_VALUE:
        if (blank) return true;
        if (c === 0x22 /* " */) this.#state = EXT_QUOTED;
        else if (TOKEN[c] === 1) this.#state = EXT_TOKEN_VALUE;
        else return this.#failed('invalid chunk extension value');
        return true;
      case EXT_TOKEN_VALUE:
      case EXT_POST_VALUE:
        if (TOKEN[c] === 1 && this.#state === EXT_TOKEN_VALUE) return true;
        if (blank) this.#state = EXT_POST_VALUE;
        else if (c === 0x3b) this.#state = EXT_PRE_NAME;
        else if (c === 0x0d) this.#state = SIZE_LF;
        else return this.#failed('invalid chunk extension value');
        return true;
      case EXT_QUOTED:
        if (c === 0x22) this.#state = EXT_POST_VALUE;
        else if (c === 0x5c /* \ */) this.#state = EXT_QUOTED_ESCAPE;
        else if (QDTEXT[c] !== 1) return this.#failed('unterminated or invalid quoted chunk extension');
        return true;
      case EXT_QUOTED_ESCAPE:
        if (FIELD_VALUE[c] !== 1) return this.#failed('invalid escape in a chunk extension');
        this.#state = EXT_QUOTED;
        return true;
      default:
        return this.#failed('invalid chunked framing state');
    }
  }

  #failed(message: string): false {
    this.#fail(message);
    return false;
  }

  #fail(message: string): number {
    this.error = new PorticoProxyError(
      this.#isRequest ? 'PORTICO_BAD_FRAMING' : 'PORTICO_UPSTREAM_BAD_RESPONSE',
      message,
    );
    return -1;
  }
}
