import { PorticoProxyError } from '../proxy-error.ts';
import { FIELD_VALUE, TOKEN } from './char-classes.ts';
import { fieldId } from './field-names.ts';

/**
 * FieldCursor walks the field lines of a head held in a buffer, validating every byte as RFC 9112 asks:
 * no obs-fold, a token name with no whitespace before the colon, and values of visible characters, SP,
 * HTAB or obs-text only (so no CR, LF or NUL). It builds no strings: after each `next()` the positions
 * of the current line are in its fields. One cursor is reused for every head (parsing is synchronous).
 */
export class FieldCursor {
  buf: Buffer = Buffer.alloc(0);
  /** lineStart..lineEnd is the current line without its CRLF; nextLine is where the next one starts. */
  lineStart = 0;
  lineEnd = 0;
  nextLine = 0;
  nameEnd = 0;
  valueStart = 0;
  valueEnd = 0;
  /** id is the field's id from `field-names.ts`. */
  id = 0;
  /** underscore is true when the name holds a `_` (which some backends read as `-`). */
  underscore = false;
  count = 0;
  error: PorticoProxyError | undefined;
  #end = 0;
  #maxCount = 0;
  #isRequest = true;

  /** reset starts at `start`; field lines end at `end` (the index of the head's final CRLF CRLF). */
  reset(buf: Buffer, start: number, end: number, maxCount: number, isRequest: boolean): void {
    this.buf = buf;
    this.nextLine = start;
    this.#end = end;
    this.#maxCount = maxCount;
    this.#isRequest = isRequest;
    this.count = 0;
    this.error = undefined;
  }

  /** next moves to the next field line; false at the end of the head or on an error (`error` set). */
  next(): boolean {
    const buf = this.buf;
    const start = this.nextLine;
    const end = this.#end;
    if (start >= end) return false;
    const first = buf[start]!;
    if (first === 0x20 || first === 0x09) return this.#fail('obsolete line folding');
    let i = start;
    let underscore = false;
    while (i < end && TOKEN[buf[i]!] === 1) {
      if (buf[i] === 0x5f) underscore = true;
      i++;
    }
    if (i === start || i === end || buf[i] !== 0x3a /* : */) {
      return this.#fail(i === start ? 'field line without a name' : 'invalid field name');
    }
    this.nameEnd = i;
    this.underscore = underscore;
    // One pass over the value: validate every byte, note where the trimmed value starts and ends.
    let j = i + 1;
    let valueStart = -1;
    let valueEnd = j;
    for (; j < end; j++) {
      const c = buf[j]!;
      if (c === 0x0d) break;
      if (FIELD_VALUE[c] !== 1) return this.#fail('invalid character in field value');
      if (c !== 0x20 && c !== 0x09) {
        if (valueStart < 0) valueStart = j;
        valueEnd = j + 1;
      }
    }
    if (j < end && buf[j + 1] !== 0x0a) return this.#fail('bare CR in a field line');
    if (++this.count > this.#maxCount) {
      this.error = this.#isRequest
        ? new PorticoProxyError('PORTICO_HEAD_TOO_LARGE', 'too many header fields')
        : new PorticoProxyError('PORTICO_UPSTREAM_BAD_RESPONSE', 'too many header fields');
      return false;
    }
    this.lineStart = start;
    this.lineEnd = j;
    this.nextLine = j + 2;
    this.valueStart = valueStart < 0 ? j : valueStart;
    this.valueEnd = valueStart < 0 ? j : valueEnd;
    this.id = fieldId(buf, start, i - start);
    return true;
  }

  /** value returns the current field's value as a string. */
  value(): string {
    return this.buf.toString('latin1', this.valueStart, this.valueEnd);
  }

  #fail(message: string): false {
    this.error = new PorticoProxyError(
      this.#isRequest ? 'PORTICO_BAD_REQUEST' : 'PORTICO_UPSTREAM_BAD_RESPONSE',
      message,
    );
    return false;
  }
}

/** DropList collects [start, end) byte ranges of field lines (with their CRLF) that must not be forwarded. */
export type DropList = number[];

/**
 * parseContentLength reads a Content-Length value from bytes: digits, or a comma-separated list of equal
 * lengths (RFC 9110 8.6). It returns the length, or -1 when the value is invalid or the list disagrees.
 */
export function parseContentLength(buf: Buffer, start: number, end: number): number {
  let result = -1;
  let i = start;
  while (i <= end) {
    while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
    let n = 0;
    let digits = 0;
    while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
      n = n * 10 + (buf[i]! - 0x30);
      if (++digits > 15) return -1;
      i++;
    }
    while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
    if (digits === 0 || (i < end && buf[i] !== 0x2c)) return -1;
    if (result >= 0 && n !== result) return -1;
    result = n;
    i++; // past the comma, or past the end
  }
  return result;
}

/** hasToken tells whether a lower-case, comma-separated list contains `token` (lower case). */
export function hasToken(list: string, token: string): boolean {
  if (list === token) return true;
  if (!list.includes(token)) return false;
  for (const part of list.split(',')) if (part.trim() === token) return true;
  return false;
}

/** isPlainConnection tells whether a lower-case Connection value names only `close` or `keep-alive`. */
export function isPlainConnection(list: string): boolean {
  return list === 'keep-alive' || list === 'close';
}

/**
 * dropNamedFields adds to `drop` every field line of `buf[start, end)` whose lower-case name is in
 * `names`, and keeps `drop` ordered. Names Portico acts on itself (`field-names.ts`) are skipped, except
 * those whose ids are in `alsoIds` and are not dropped already (a route's rules may replace `Host` or
 * `X-Request-Id`; a client's `Connection` may not). It is for `Connection`-nominated fields and route
 * header rules; a string is built only for a name as long as one in `names`.
 */
export function dropNamedFields(
  buf: Buffer,
  start: number,
  end: number,
  names: ReadonlySet<string>,
  drop: DropList,
  isRequest: boolean,
  alsoIds?: ReadonlySet<number>,
): void {
  const scan = dropScan;
  const lengths = nameLengths(names);
  scan.reset(buf, start, end, Number.MAX_SAFE_INTEGER, isRequest);
  let added = false;
  while (scan.next()) {
    if (scan.id !== 0 && (alsoIds === undefined || !alsoIds.has(scan.id) || isDropped(drop, scan.lineStart)))
      continue;
    const length = scan.nameEnd - scan.lineStart;
    if (length >= lengths.length || lengths[length] !== 1) continue;
    if (names.has(buf.toString('latin1', scan.lineStart, scan.nameEnd).toLowerCase())) {
      drop.push(scan.lineStart, scan.nextLine);
      added = true;
    }
  }
  if (added) sortRanges(drop);
}

const dropScan = new FieldCursor();

/** lengthsOf caches, per set of names, which name lengths it holds (a set is compiled once and reused). */
const lengthsOf = new WeakMap<ReadonlySet<string>, Uint8Array>();

function nameLengths(names: ReadonlySet<string>): Uint8Array {
  let lengths = lengthsOf.get(names);
  if (lengths === undefined) {
    let longest = 0;
    for (const name of names) longest = Math.max(longest, name.length);
    lengths = new Uint8Array(longest + 1);
    for (const name of names) lengths[name.length] = 1;
    lengthsOf.set(names, lengths);
  }
  return lengths;
}

/** isDropped tells whether the field line starting at `lineStart` is in `drop`. */
export function isDropped(drop: DropList, lineStart: number): boolean {
  for (let i = 0; i < drop.length; i += 2) if (drop[i] === lineStart) return true;
  return false;
}

/** sortRanges orders [start, end) pairs by start, in place. */
export function sortRanges(ranges: DropList): void {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  ranges.length = 0;
  for (const [s, e] of pairs) ranges.push(s, e);
}

/** nominatedNames returns the names a lower-case `Connection` value lists, other than close, keep-alive and upgrade. */
export function nominatedNames(tokens: string): Set<string> {
  const names = new Set<string>();
  for (const part of tokens.split(',')) {
    const name = part.trim();
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') names.add(name);
  }
  return names;
}

/**
 * resolveFraming decides a message's framing from its Content-Length (-2 when absent) and its joined
 * Transfer-Encoding values (RFC 9112 6.1-6.3): the length, -1 for chunked, or -2 for neither; or, as a
 * string, why the combination is ambiguous: both fields, Transfer-Encoding on HTTP/1.0, or any coding
 * but a single `chunked`.
 */
export function resolveFraming(
  contentLength: number,
  transferEncoding: string | undefined,
  version: 10 | 11,
): number | string {
  if (transferEncoding === undefined) return contentLength;
  if (contentLength !== -2) return 'both Content-Length and Transfer-Encoding';
  if (version === 10) return 'Transfer-Encoding in an HTTP/1.0 message';
  if (transferEncoding.trim().toLowerCase() !== 'chunked')
    return 'Transfer-Encoding other than a single "chunked"';
  return -1;
}
