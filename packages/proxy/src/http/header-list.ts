import type { OutgoingHttpHeaders } from 'node:http2';
import { type DropList, FieldCursor } from './field-cursor.ts';

/** HeaderAdder adds one field to a header list, as its caller's rules say (repeats, fields left out). */
export type HeaderAdder = (headers: OutgoingHttpHeaders, name: string, value: string) => void;

const cursor = new FieldCursor();

/**
 * addHeadFields adds the field lines of an HTTP/1.1 head, `buf[start, end)`, to a header list with `add`
 * (names lower-cased), less the lines in `drop` (ordered [start, end) pairs).
 */
export function addHeadFields(
  headers: OutgoingHttpHeaders,
  buf: Buffer,
  start: number,
  end: number,
  drop: DropList,
  isRequest: boolean,
  add: HeaderAdder,
): void {
  let d = 0;
  cursor.reset(buf, start, end, Number.MAX_SAFE_INTEGER, isRequest);
  while (cursor.next()) {
    while (d < drop.length && drop[d + 1]! <= cursor.lineStart) d += 2;
    if (d < drop.length && drop[d]! <= cursor.lineStart) continue;
    add(headers, buf.toString('latin1', cursor.lineStart, cursor.nameEnd).toLowerCase(), cursor.value());
  }
}

/** addFieldLines adds rendered field lines (`name: value` CRLF each, as Portico writes them) with `add`. */
export function addFieldLines(headers: OutgoingHttpHeaders, lines: string, add: HeaderAdder): void {
  let from = 0;
  while (from < lines.length) {
    const end = lines.indexOf('\r\n', from);
    const colon = lines.indexOf(':', from);
    add(headers, lines.slice(from, colon).toLowerCase(), lines.slice(colon + 1, end).trim());
    from = end + 2;
  }
}
