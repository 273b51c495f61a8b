import {
  type DropList,
  dropNamedFields,
  type FieldCursor,
  hasToken,
  isPlainConnection,
  nominatedNames,
  parseContentLength,
  resolveFraming,
} from './field-cursor.ts';
import * as F from './field-names.ts';

/** TAKEN, OTHER_FIELD and INVALID_LENGTH are what `FramingFields.take` says of a field line. */
export const TAKEN = 1;
export const OTHER_FIELD = 0;
export const INVALID_LENGTH = -1;

/**
 * FramingFields gathers what requests and responses alike say about framing and the connection:
 * Content-Length, Transfer-Encoding and Connection. Both head parsers feed it every field line and
 * drop the lines it takes (Portico re-emits framing and never forwards Connection). One instance per
 * parser is reused, since parsing is synchronous.
 */
export class FramingFields {
  contentLength = -2;
  transferEncoding: string | undefined;
  /** connection is every Connection line's value joined with commas, as sent. */
  #connection: string | undefined;

  reset(): void {
    this.contentLength = -2;
    this.transferEncoding = undefined;
    this.#connection = undefined;
  }

  /** take records the cursor's field if it is one of the three; INVALID_LENGTH for a bad or conflicting length. */
  take(cursor: FieldCursor): number {
    switch (cursor.id) {
      case F.CONTENT_LENGTH: {
        const n = parseContentLength(cursor.buf, cursor.valueStart, cursor.valueEnd);
        if (n < 0 || (this.contentLength >= 0 && n !== this.contentLength)) return INVALID_LENGTH;
        this.contentLength = n;
        return TAKEN;
      }
      case F.TRANSFER_ENCODING:
        this.transferEncoding = join(this.transferEncoding, cursor.value());
        return TAKEN;
      case F.CONNECTION:
        this.#connection = join(this.#connection, cursor.value());
        return TAKEN;
      default:
        return OTHER_FIELD;
    }
  }

  /** framing is `resolveFraming` over what was taken: a length, -1 chunked, -2 none, or why it is ambiguous. */
  framing(version: 10 | 11): number | string {
    return resolveFraming(this.contentLength, this.transferEncoding, version);
  }

  /**
   * persistent tells whether the connection stays open after this message (HTTP/1.1 unless `close`;
   * HTTP/1.0 only with `keep-alive`), and adds the lines Connection nominates to `drop`.
   */
  persistent(
    version: 10 | 11,
    buf: Buffer,
    fieldsStart: number,
    headEnd: number,
    drop: DropList,
    isRequest: boolean,
  ): boolean {
    const tokens = this.#connection?.toLowerCase();
    if (tokens === undefined) return version === 11;
    if (!isPlainConnection(tokens))
      dropNamedFields(buf, fieldsStart, headEnd, nominatedNames(tokens), drop, isRequest);
    if (hasToken(tokens, 'close')) return false;
    return version === 11 || hasToken(tokens, 'keep-alive');
  }

  /** connectionHas tells whether Connection lists `token` (lower case). */
  connectionHas(token: string): boolean {
    return this.#connection !== undefined && hasToken(this.#connection.toLowerCase(), token);
  }
}

/** join appends a repeated field's value, as RFC 9110 section 5.3 combines them. */
function join(list: string | undefined, value: string): string {
  return list === undefined ? value : `${list},${value}`;
}
