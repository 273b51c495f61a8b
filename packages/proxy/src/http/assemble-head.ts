import type { Writable } from 'node:stream';
import type { DropList } from './field-cursor.ts';

/** COALESCE_LIMIT_BYTES is the largest body part copied behind its head to make one write: 16 KiB. */
const COALESCE_LIMIT_BYTES = 16_384;

/**
 * HeadPlan says how to build an outgoing head from an incoming one without re-serialising it: a first
 * line made of `lead` + `src[lineStart, lineEnd)` + `tail`, then the field lines of
 * `src[fieldsStart, fieldsEnd)` (each with its CRLF) except the ranges in `drop`, then `extra` (lines
 * Portico adds, each ending in CRLF), then the blank line.
 */
export interface HeadPlan {
  src: Buffer;
  lead: string;
  lineStart: number;
  lineEnd: number;
  tail: string;
  fieldsStart: number;
  fieldsEnd: number;
  drop: DropList;
  extra: string;
}

const CRLF = Buffer.from('\r\n', 'latin1');

/** LAST_CHUNK ends a chunked body without trailers. */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * writeChunk writes `chunk` as one chunk of a chunked body (size line, data, CRLF) under `cork`, so it
 * leaves as one segment without copying the data. It returns what `socket.write` returned.
 */
export function writeChunk(socket: Writable, chunk: Buffer): boolean {
  socket.cork();
  socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
  socket.write(chunk);
  const flushed = socket.write(CRLF);
  socket.uncork();
  return flushed;
}

/** headBytes renders the head a plan describes into one buffer (for a copy of a request: a mirror). */
export function headBytes(plan: HeadPlan): Buffer {
  return renderHead(plan, undefined, 0, 0);
}

/**
 * writeHead writes the head a plan describes, followed by `body[bodyStart, bodyEnd)`, to `socket`. The
 * head and a small body part go out as one buffer in one `write` (one segment, one syscall); a large body
 * part follows under `cork`, uncopied. It returns what `socket.write` returned: false means wait for `drain`.
 */
export function writeHead(
  socket: Writable,
  plan: HeadPlan,
  body: Buffer | undefined,
  bodyStart: number,
  bodyEnd: number,
): boolean {
  const bodyLength = body === undefined ? 0 : bodyEnd - bodyStart;
  const inline = bodyLength <= COALESCE_LIMIT_BYTES ? bodyLength : 0;
  const out = renderHead(plan, body, bodyStart, inline);
  if (inline > 0 || bodyLength === 0) return socket.write(out);
  socket.cork();
  socket.write(out);
  const flushed = socket.write(
    bodyStart === 0 && bodyEnd === body!.length ? body! : body!.subarray(bodyStart, bodyEnd),
  );
  socket.uncork();
  return flushed;
}

/** renderHead renders the head of `plan` and `inline` bytes of `body` from `bodyStart` into one buffer. */
function renderHead(plan: HeadPlan, body: Buffer | undefined, bodyStart: number, inline: number): Buffer {
  const { src, drop, fieldsEnd } = plan;
  let fieldBytes = fieldsEnd - plan.fieldsStart;
  for (let i = 0; i < drop.length; i += 2) fieldBytes -= drop[i + 1]! - drop[i]!;
  const headLength =
    plan.lead.length +
    (plan.lineEnd - plan.lineStart) +
    plan.tail.length +
    fieldBytes +
    plan.extra.length +
    2;
  const out = Buffer.allocUnsafe(headLength + inline);
  let o = 0;
  if (plan.lead.length > 0) o += out.write(plan.lead, o, 'latin1');
  o += src.copy(out, o, plan.lineStart, plan.lineEnd);
  if (plan.tail.length > 0) o += out.write(plan.tail, o, 'latin1');
  let from = plan.fieldsStart;
  for (let i = 0; i < drop.length; i += 2) {
    if (drop[i]! > from) o += src.copy(out, o, from, drop[i]!);
    from = drop[i + 1]!;
  }
  if (fieldsEnd > from) o += src.copy(out, o, from, fieldsEnd);
  if (plan.extra.length > 0) o += out.write(plan.extra, o, 'latin1');
  out[o++] = 0x0d;
  out[o++] = 0x0a;
  if (inline > 0) body!.copy(out, o, bodyStart, bodyStart + inline);
  return out;
}
