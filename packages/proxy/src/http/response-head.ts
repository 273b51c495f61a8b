import { PorticoProxyError } from '../proxy-error.ts';
import { FIELD_VALUE } from './char-classes.ts';
import { type DropList, FieldCursor, isDropped } from './field-cursor.ts';
import * as F from './field-names.ts';
import { FramingFields, INVALID_LENGTH, TAKEN } from './framing-fields.ts';

/** ResponseHead is a parsed, validated upstream response head, kept in the buffer it arrived in. */
export interface ResponseHead {
  readonly buf: Buffer;
  /** start is where the head starts in `buf`; headEnd is where its final CRLF CRLF starts. */
  readonly start: number;
  readonly headEnd: number;
  /** statusStart is where the status code starts (after `HTTP/1.x `). */
  readonly statusStart: number;
  /** fieldsStart is where the first field line starts. */
  readonly fieldsStart: number;
  /** drop lists [start, end) ranges of field lines not to forward: hop-by-hop and framing. */
  readonly drop: DropList;
  readonly status: number;
  readonly version: 10 | 11;
  /** framing is what the head declares: a Content-Length, -1 for chunked, or -2 for neither. */
  readonly framing: number;
  /**
   * bodyLength is the Content-Length, -1 for chunked, 0 when the response has no body (HEAD, 1xx, 204,
   * 304), or -2 when the body runs until the upstream closes the connection.
   */
  readonly bodyLength: number;
  /** reusable tells whether the upstream connection may carry another request after this response. */
  readonly reusable: boolean;
  /** upgrade is the `Upgrade` field value of a 101 response. */
  readonly upgrade: string | undefined;
  /**
   * fields holds the fields of a response that came without HTTP/1.1 bytes (from an HTTP/2 upstream):
   * flat lower-case name, value pairs, without framing and connection-specific fields; its body then
   * comes as payload, not in HTTP/1.1 framing. Undefined for a response read from HTTP/1.1.
   */
  readonly fields?: readonly string[] | undefined;
}

const EMPTY = Buffer.alloc(0);

/**
 * listResponseHead is a response head from a field list: `length` is the Content-Length (-1 when not
 * known); `bodyless` says there is no body (HEAD, 204, 304, or the head ended the stream).
 */
export function listResponseHead(
  status: number,
  fields: readonly string[],
  length: number,
  bodyless: boolean,
): ResponseHead {
  return {
    buf: EMPTY,
    start: 0,
    headEnd: 0,
    statusStart: 0,
    fieldsStart: 0,
    drop: [],
    status,
    version: 11,
    framing: bodyless && length < 0 ? -2 : length,
    bodyLength: bodyless ? 0 : length,
    reusable: true,
    upgrade: undefined,
    fields,
  };
}

/** MAX_RESPONSE_FIELDS bounds the field lines of an upstream response head. */
const MAX_RESPONSE_FIELDS = 256;

const cursor = new FieldCursor();
const fields = new FramingFields();

/**
 * parseResponseHead parses an upstream response head in `buf[start, headEnd)` as strictly as requests
 * are parsed; `method` is the request's method, which decides framing for HEAD. An error means the
 * response must not reach the client (502) and the connection must be dropped.
 */
export function parseResponseHead(
  buf: Buffer,
  start: number,
  headEnd: number,
  method: string,
): ResponseHead | PorticoProxyError {
  // Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF
  const s = start;
  if (
    headEnd - s < 12 ||
    buf[s] !== 0x48 ||
    buf[s + 1] !== 0x54 ||
    buf[s + 2] !== 0x54 ||
    buf[s + 3] !== 0x50 ||
    buf[s + 4] !== 0x2f ||
    buf[s + 5] !== 0x31 ||
    buf[s + 6] !== 0x2e ||
    (buf[s + 7] !== 0x31 && buf[s + 7] !== 0x30) ||
    buf[s + 8] !== 0x20
  ) {
    return bad('invalid status line');
  }
  const version: 10 | 11 = buf[s + 7] === 0x31 ? 11 : 10;
  const d0 = buf[s + 9]! - 0x30;
  const d1 = buf[s + 10]! - 0x30;
  const d2 = buf[s + 11]! - 0x30;
  if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return bad('invalid status code');
  const status = d0 * 100 + d1 * 10 + d2;
  let lineEnd = s + 12;
  if (lineEnd < headEnd && buf[lineEnd] !== 0x0d) {
    if (buf[lineEnd] !== 0x20) return bad('invalid status line');
    lineEnd++;
    while (lineEnd < headEnd && buf[lineEnd] !== 0x0d) {
      if (FIELD_VALUE[buf[lineEnd]!] !== 1) return bad('invalid reason phrase');
      lineEnd++;
    }
  }
  if (lineEnd < headEnd) {
    if (buf[lineEnd + 1] !== 0x0a) return bad('bare CR in the status line');
    lineEnd += 2;
  }

  const drop: DropList = [];
  let upgrade: string | undefined;
  fields.reset();
  cursor.reset(buf, lineEnd, headEnd, MAX_RESPONSE_FIELDS, false);
  while (cursor.next()) {
    const id = cursor.id;
    if (id === F.OTHER) continue;
    const taken = fields.take(cursor);
    if (taken === INVALID_LENGTH) return bad('invalid or conflicting Content-Length');
    if (taken === TAKEN) {
      drop.push(cursor.lineStart, cursor.nextLine);
      continue;
    }
    switch (id) {
      case F.UPGRADE:
        upgrade = cursor.value();
        break;
      case F.KEEP_ALIVE:
      case F.PROXY_CONNECTION:
      case F.TE:
        break;
      default:
        continue; // Host, Expect, X-Forwarded-* and the like are end-to-end in a response
    }
    drop.push(cursor.lineStart, cursor.nextLine);
  }
  if (cursor.error !== undefined) return cursor.error;

  const framing = fields.framing(version);
  if (typeof framing === 'string') return bad(framing);
  let reusable = fields.persistent(version, buf, lineEnd, headEnd, drop, false);
  let bodyLength = framing;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) bodyLength = 0;
  else if (framing === -2) reusable = false;
  if (status === 101) reusable = false;
  return {
    buf,
    start,
    headEnd,
    statusStart: s + 9,
    fieldsStart: lineEnd,
    drop,
    status,
    version,
    framing,
    bodyLength,
    reusable,
    upgrade,
  };
}

function bad(message: string): PorticoProxyError {
  return new PorticoProxyError('PORTICO_UPSTREAM_BAD_RESPONSE', message);
}

const listScan = new FieldCursor();

/**
 * fieldListOf returns the fields of a response read from HTTP/1.1 that are to be forwarded (those not in
 * its `drop` list: hop-by-hop, framing, and those filters removed) as flat lower-case name, value pairs:
 * for a response whose body Portico re-frames (compression). A list response returns its own list.
 */
export function fieldListOf(res: ResponseHead): string[] {
  if (res.fields !== undefined) return [...res.fields];
  const list: string[] = [];
  const scan = listScan;
  scan.reset(res.buf, res.fieldsStart, res.headEnd, Number.MAX_SAFE_INTEGER, false);
  while (scan.next()) {
    if (isDropped(res.drop, scan.lineStart)) continue;
    list.push(res.buf.toString('latin1', scan.lineStart, scan.nameEnd).toLowerCase(), scan.value());
  }
  return list;
}
