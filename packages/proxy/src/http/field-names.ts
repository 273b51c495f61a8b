/**
 * Field ids for the header names the engine acts on. Every other name is `OTHER` and is forwarded as
 * received. Names are recognised on the raw bytes (case-insensitively), so no string is built for them.
 */
export const OTHER = 0;
export const HOST = 1;
export const CONTENT_LENGTH = 2;
export const TRANSFER_ENCODING = 3;
export const CONNECTION = 4;
export const KEEP_ALIVE = 5;
export const PROXY_CONNECTION = 6;
export const TE = 7;
export const UPGRADE = 8;
export const EXPECT = 9;
export const X_FORWARDED_FOR = 10;
export const X_FORWARDED_PROTO = 11;
export const X_FORWARDED_HOST = 12;
export const X_FORWARDED_PORT = 13;
export const X_REAL_IP = 14;
export const FORWARDED = 15;
export const PROXY = 16;
export const X_REQUEST_ID = 17;

const NAMES: [string, number][] = [
  ['host', HOST],
  ['content-length', CONTENT_LENGTH],
  ['transfer-encoding', TRANSFER_ENCODING],
  ['connection', CONNECTION],
  ['keep-alive', KEEP_ALIVE],
  ['proxy-connection', PROXY_CONNECTION],
  ['te', TE],
  ['upgrade', UPGRADE],
  ['expect', EXPECT],
  ['x-forwarded-for', X_FORWARDED_FOR],
  ['x-forwarded-proto', X_FORWARDED_PROTO],
  ['x-forwarded-host', X_FORWARDED_HOST],
  ['x-forwarded-port', X_FORWARDED_PORT],
  ['x-real-ip', X_REAL_IP],
  ['forwarded', FORWARDED],
  ['proxy', PROXY],
  ['x-request-id', X_REQUEST_ID],
];

interface Candidate {
  readonly bytes: Uint8Array;
  readonly id: number;
}

const BY_LENGTH: (Candidate[] | undefined)[] = [];
for (const [name, id] of NAMES) {
  const list = BY_LENGTH[name.length] ?? [];
  list.push({ bytes: Buffer.from(name, 'latin1'), id });
  BY_LENGTH[name.length] = list;
}

/**
 * fieldId returns the id of the field name in `buf[start, start + length)`, or `OTHER`. The bytes must
 * already be validated as a token: the comparison folds case with `| 0x20`, which is exact for letters
 * and `-`, the only bytes of the names above.
 */
export function fieldId(buf: Uint8Array, start: number, length: number): number {
  const candidates = BY_LENGTH[length];
  if (candidates === undefined) return OTHER;
  outer: for (let c = 0; c < candidates.length; c++) {
    const { bytes, id } = candidates[c]!;
    for (let i = 0; i < length; i++) if ((buf[start + i]! | 0x20) !== bytes[i]) continue outer;
    return id;
  }
  return OTHER;
}

/** lowerName returns the field name in `buf[start, end)` in lower case, for the rare names compared as text. */
export function lowerName(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end).toLowerCase();
}
