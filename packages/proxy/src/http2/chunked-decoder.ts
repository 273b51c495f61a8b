/** States of the decoder. */
const SIZE = 0;
const LINE = 1; // the rest of a chunk-size line (extensions) up to LF
const DATA = 2;
const DATA_END = 3; // the CRLF after chunk data
const TRAILER = 4; // a trailer line, or the final empty line
const DONE = 5;

/**
 * ChunkedDecoder takes the payload out of a chunked body that Portico already validated (its HTTP/1.1
 * engine checks every framing byte), so it only tracks where the data is. `decode` hands each piece of data
 * to `sink` as a view of the input, without copying.
 */
export class ChunkedDecoder {
  #state = SIZE;
  #remaining = 0;
  #lineEmpty = true;

  /** done tells whether the last chunk and the trailer section were seen. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** decode consumes `buf` and returns where the body ended in it, or `buf.length` if it did not. */
  decode(buf: Buffer, sink: { onData(data: Buffer): void }): number {
    let i = 0;
    while (i < buf.length && this.#state !== DONE) {
      switch (this.#state) {
        case SIZE: {
          const c = buf[i]!;
          const digit = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
          if (c === 0x3b || c === 0x0d || c === 0x20 || c === 0x09) this.#state = LINE;
          else if (c === 0x0a) this.#endSizeLine();
          else this.#remaining = this.#remaining * 16 + digit;
          i++;
          break;
        }
        case LINE:
          if (buf[i] === 0x0a) this.#endSizeLine();
          i++;
          break;
        case DATA: {
          const n = Math.min(this.#remaining, buf.length - i);
          sink.onData(buf.subarray(i, i + n));
          this.#remaining -= n;
          i += n;
          if (this.#remaining === 0) this.#state = DATA_END;
          break;
        }
        case DATA_END:
          if (buf[i] === 0x0a) this.#state = SIZE;
          i++;
          break;
        case TRAILER: {
          const c = buf[i]!;
          if (c === 0x0a) {
            if (this.#lineEmpty) this.#state = DONE;
            this.#lineEmpty = true;
          } else if (c !== 0x0d) this.#lineEmpty = false;
          i++;
          break;
        }
      }
    }
    return i;
  }

  #endSizeLine(): void {
    if (this.#remaining === 0) {
      this.#state = TRAILER;
      this.#lineEmpty = true;
    } else {
      this.#state = DATA;
    }
  }
}
