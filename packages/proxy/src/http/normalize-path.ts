import type { RequestParsingConfig } from '@portico/config';

/** PathPolicy is the part of the request-parsing config that shapes paths. */
export type PathPolicy = Pick<RequestParsingConfig, 'normalizePath' | 'mergeSlashes' | 'escapedSlashes'>;

/** UNRESERVED marks RFC 3986 unreserved characters: decoding them never changes what a path means. */
const UNRESERVED = new Uint8Array(128);
for (const c of '-._~') UNRESERVED[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) UNRESERVED[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) UNRESERVED[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) UNRESERVED[c] = 1;

/** INVALID_ESCAPE and ESCAPED_SLASH are what `normalizePath` returns for a path it refuses. */
export const INVALID_ESCAPE = 1;
export const ESCAPED_SLASH = 2;

/**
 * normalizePath returns `path` (a request path, no query) as Portico routes and forwards it: with
 * percent-encoded unreserved characters decoded and dot segments removed (RFC 3986 6.2.2.2 and 5.2.4)
 * when `normalizePath` is on, `%2F`/`%5C` kept, decoded or refused as `escapedSlashes` says, and runs of
 * `/` merged when `mergeSlashes` is on. A path that needs none of this is returned as the same string,
 * after two `indexOf` calls. It returns INVALID_ESCAPE for a `%` not followed by two hex digits (only
 * when it looks at escapes), and ESCAPED_SLASH when `escapedSlashes` is `reject` and the path has one.
 */
export function normalizePath(path: string, policy: PathPolicy): string | number {
  const percent = path.indexOf('%');
  const dot = policy.normalizePath ? path.indexOf('/.') : -1;
  const slashes = policy.mergeSlashes ? path.indexOf('//') : -1;
  if (percent < 0 && dot < 0 && slashes < 0) return path;
  let out = path;
  if (percent >= 0 && (policy.normalizePath || policy.escapedSlashes !== 'keep')) {
    const decoded = decodeEscapes(path, percent, policy);
    if (typeof decoded === 'number') return decoded;
    out = decoded;
  }
  if (policy.normalizePath && out.includes('/.')) out = removeDotSegments(out);
  if (policy.mergeSlashes && out.includes('//')) out = out.replace(/\/{2,}/g, '/');
  return out;
}

/** decodeEscapes decodes the escapes the policy asks for, starting at the first `%` (index `from`). */
function decodeEscapes(path: string, from: number, policy: PathPolicy): string | number {
  let out = path.slice(0, from);
  let i = from;
  while (i < path.length) {
    const c = path.charCodeAt(i);
    if (c !== 0x25 /* % */) {
      out += path[i];
      i++;
      continue;
    }
    const hi = hex(path.charCodeAt(i + 1));
    const lo = hex(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return INVALID_ESCAPE;
    const byte = hi * 16 + lo;
    if (byte === 0x2f || byte === 0x5c) {
      if (policy.escapedSlashes === 'reject') return ESCAPED_SLASH;
      out += policy.escapedSlashes === 'decode' ? String.fromCharCode(byte) : path.slice(i, i + 3);
    } else if (policy.normalizePath && byte < 0x80 && UNRESERVED[byte] === 1) {
      out += String.fromCharCode(byte);
    } else {
      out += path.slice(i, i + 3);
    }
    i += 3;
  }
  return out;
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * removeDotSegments is RFC 3986 5.2.4 for an absolute path: `.` segments go, `..` takes the segment
 * before it (never above the root), and a path that ended in a dot segment keeps its trailing `/`.
 */
export function removeDotSegments(path: string): string {
  const input = path.split('/');
  const output: string[] = [];
  for (let i = 1; i < input.length; i++) {
    const segment = input[i]!;
    const last = i === input.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..' && output.length > 0) output.pop();
      if (last) output.push('');
    } else {
      output.push(segment);
    }
  }
  return `/${output.join('/')}`;
}
