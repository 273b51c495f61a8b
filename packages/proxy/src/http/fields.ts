import { PorticoProxyError } from '../proxy-error.ts';
import { FIELD_VALUE, TOKEN } from './char-classes.ts';

/** FieldList holds a head's fields in order: names as sent, the same names in lower case, and values. */
export interface FieldList {
  readonly names: readonly string[];
  readonly lower: readonly string[];
  readonly values: readonly string[];
}

/**
 * parseFields parses the field lines of a head from `start` to the end of `head`, rejecting obs-fold,
 * whitespace before the colon, empty or non-token names, and CR, LF, NUL or other controls in values.
 * Leading and trailing whitespace of a value is removed, as RFC 9112 says.
 */
export function parseFields(head: string, start: number, maxCount: number): FieldList | PorticoProxyError {
  const names: string[] = [];
  const lower: string[] = [];
  const values: string[] = [];
  let pos = start;
  const end = head.length;
  while (pos < end) {
    let lineEnd = head.indexOf('\r\n', pos);
    if (lineEnd < 0) lineEnd = end;
    const first = head.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) return bad('obsolete line folding');
    const colon = head.indexOf(':', pos);
    if (colon < 0 || colon >= lineEnd || colon === pos) return bad('field line without a name');
    for (let i = pos; i < colon; i++) if (TOKEN[head.charCodeAt(i)] !== 1) return bad('invalid field name');
    let valueStart = colon + 1;
    let valueEnd = lineEnd;
    while (valueStart < valueEnd && isWhitespace(head.charCodeAt(valueStart))) valueStart++;
    while (valueEnd > valueStart && isWhitespace(head.charCodeAt(valueEnd - 1))) valueEnd--;
    for (let i = valueStart; i < valueEnd; i++) {
      if (FIELD_VALUE[head.charCodeAt(i)] !== 1) return bad('invalid character in field value');
    }
    if (names.length === maxCount) {
      return new PorticoProxyError('PORTICO_HEAD_TOO_LARGE', 'too many header fields');
    }
    const name = head.slice(pos, colon);
    names.push(name);
    lower.push(name.toLowerCase());
    values.push(head.slice(valueStart, valueEnd));
    pos = lineEnd + 2;
  }
  return { names, lower, values };
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function bad(message: string): PorticoProxyError {
  return new PorticoProxyError('PORTICO_BAD_REQUEST', message);
}

/** NO_LENGTH is what `parseFraming` returns when a message has neither Content-Length nor chunked. */
export const NO_LENGTH = -2;
/** CHUNKED is what `parseFraming` returns for a chunked message. */
export const CHUNKED = -1;

/**
 * parseFraming reads Content-Length and Transfer-Encoding and returns the body length, `CHUNKED`, or
 * `NO_LENGTH`. Ambiguity is an error: both fields, differing lengths, a length that is not digits, a
 * coding other than a lone `chunked`, or Transfer-Encoding on an HTTP/1.0 message.
 */
export function parseFraming(
  fields: FieldList,
  version: 10 | 11,
  isRequest: boolean,
): number | PorticoProxyError {
  let length = NO_LENGTH;
  let transferEncoding: string | undefined;
  const { lower, values } = fields;
  for (let i = 0; i < lower.length; i++) {
    const name = lower[i]!;
    if (name === 'content-length') {
      for (const part of values[i]!.split(',')) {
        const digits = part.trim();
        if (!/^\d{1,15}$/.test(digits)) return framing(isRequest, 'invalid Content-Length');
        const n = Number(digits);
        if (length !== NO_LENGTH && n !== length)
          return framing(isRequest, 'conflicting Content-Length values');
        length = n;
      }
    } else if (name === 'transfer-encoding') {
      transferEncoding = transferEncoding === undefined ? values[i]! : `${transferEncoding},${values[i]}`;
    }
  }
  if (transferEncoding === undefined) return length;
  if (length !== NO_LENGTH) return framing(isRequest, 'both Content-Length and Transfer-Encoding');
  if (version === 10) return framing(isRequest, 'Transfer-Encoding in an HTTP/1.0 message');
  if (transferEncoding.trim().toLowerCase() !== 'chunked') {
    return framing(isRequest, 'Transfer-Encoding other than a single "chunked"');
  }
  return CHUNKED;
}

function framing(isRequest: boolean, message: string): PorticoProxyError {
  return new PorticoProxyError(isRequest ? 'PORTICO_BAD_FRAMING' : 'PORTICO_UPSTREAM_BAD_RESPONSE', message);
}
