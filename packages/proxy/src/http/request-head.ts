import type { LimitsConfig, RequestParsingConfig } from '@portico/config';
import { PorticoProxyError } from '../proxy-error.ts';
import { HOST as HOST_CHARS, TARGET, TOKEN } from './char-classes.ts';
import { type DropList, FieldCursor } from './field-cursor.ts';
import * as F from './field-names.ts';
import { FramingFields, INVALID_LENGTH, TAKEN } from './framing-fields.ts';
import { ESCAPED_SLASH, normalizePath } from './normalize-path.ts';

/**
 * RequestHead is a parsed, validated request head. It keeps the buffer the head arrived in, so the head
 * sent upstream is assembled from the client's own bytes (its field lines in their order and case)
 * minus the lines in `drop`.
 */
export interface RequestHead {
  /** buf holds the head from index 0 up to `headEnd` (where its final CRLF CRLF starts). */
  readonly buf: Buffer;
  readonly headEnd: number;
  /** versionStart is where `HTTP/1.x` starts in the request line (after the target and a space). */
  readonly versionStart: number;
  /** fieldsStart is where the first field line starts (just after the request line's CRLF). */
  readonly fieldsStart: number;
  /** drop lists [start, end) ranges of field lines not to forward: hop-by-hop, framing, X-Forwarded-*. */
  readonly drop: DropList;
  readonly method: string;
  /** target is the request target in origin form (`/path?query`), or `*` for `OPTIONS *`. */
  readonly target: string;
  /** version is 10 for HTTP/1.0 and 11 for HTTP/1.1. */
  readonly version: 10 | 11;
  /** host is the authority routed on and sent upstream: the absolute-form authority or the Host field. */
  readonly host: string;
  /** hostInTarget is true when `host` came from an absolute-form target (the Host line is then dropped). */
  readonly hostInTarget: boolean;
  /** path is the target's path without its query, for routing (normalised as `requestParsing` says). */
  readonly path: string;
  /** normalized is true when `path` differs from what the client sent: `target` then carries it upstream. */
  readonly normalized: boolean;
  /** fieldCount is the number of field lines in the head (trailers count against the same limit). */
  readonly fieldCount: number;
  /** bodyLength is the Content-Length, -1 for a chunked body, or -2 when the head declares no body. */
  readonly bodyLength: number;
  /** keepAlive tells whether the client wants the connection kept open after this exchange. */
  readonly keepAlive: boolean;
  /** expectContinue is true when the client sent `Expect: 100-continue`. */
  readonly expectContinue: boolean;
  /** upgrade is the lower-case protocol list of an `Upgrade` request (with `Connection: upgrade`), if any. */
  readonly upgrade: string | undefined;
  /** forwardedFor..forwarded are what the client sent in X-Forwarded-* and Forwarded (kept for trusted peers). */
  readonly forwardedFor: string | undefined;
  readonly forwardedProto: string | undefined;
  readonly forwardedHost: string | undefined;
  readonly forwardedPort: string | undefined;
  readonly forwarded: string | undefined;
  /** requestId is the client's `X-Request-Id`, if it sent one (Portico generates one otherwise). */
  readonly requestId: string | undefined;
  /**
   * fields holds the fields of a head that came without HTTP/1.1 bytes (HTTP/2, `node:http`): flat
   * lower-case name, value pairs, without Host, framing and connection-specific fields. Undefined for an
   * HTTP/1.1 head, whose fields are the lines of `buf`.
   */
  readonly fields?: readonly string[] | undefined;
  /** acceptsTrailers is true when the client sent `TE: trailers` (gRPC clients do). */
  readonly acceptsTrailers?: boolean | undefined;
}

type Limits = Pick<LimitsConfig, 'maxRequestLineBytes' | 'maxHeaderCount'>;

/** RequestParsing is how a listener normalises request heads (`requestParsing`, with its overrides). */
export type RequestParsing = RequestParsingConfig;

const cursor = new FieldCursor();
const framing = new FramingFields();

/** Interned methods: the common ones cost no allocation. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'].map((m) => ({
  name: m,
  bytes: Buffer.from(m, 'latin1'),
}));

function methodOf(buf: Buffer, end: number): string {
  for (const { name, bytes } of METHODS) {
    if (bytes.length !== end) continue;
    let same = true;
    for (let i = 0; i < end; i++) {
      if (buf[i] !== bytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return name;
  }
  return buf.toString('latin1', 0, end);
}

/** The bytes of `HTTP/1.` that start a request line's version. */
const H = 0x48;
const T = 0x54;
const P = 0x50;

/**
 * parseRequestHead parses the head in `buf[0, headEnd)` (`headEnd` is where the final CRLF CRLF starts)
 * with RFC 9112 strictness and returns it, or the error the client must be answered with. Nothing
 * ambiguous passes: bare CR or LF, obs-fold, whitespace before a colon, invalid characters, conflicting
 * framing, and missing, repeated or malformed Host are all rejected. It builds strings only for the
 * method (common ones are interned), target, path and host. Fields whose names hold `_` are dropped,
 * refused or kept, and the path normalised, as `parsing` says.
 */
export function parseRequestHead(
  buf: Buffer,
  headEnd: number,
  limits: Limits,
  parsing: RequestParsing,
): RequestHead | PorticoProxyError {
  // Request line: method SP target SP HTTP/1.x CRLF, single spaces, nothing else.
  let sp1 = 0;
  while (sp1 < headEnd && TOKEN[buf[sp1]!] === 1) sp1++;
  if (sp1 > limits.maxRequestLineBytes)
    return new PorticoProxyError('PORTICO_URI_TOO_LONG', 'request line too long');
  if (sp1 === 0 || buf[sp1] !== 0x20) return bad('malformed request line');
  let sp2 = sp1 + 1;
  while (sp2 < headEnd && TARGET[buf[sp2]!] === 1) sp2++;
  if (sp2 > limits.maxRequestLineBytes)
    return new PorticoProxyError('PORTICO_URI_TOO_LONG', 'request line too long');
  if (sp2 === sp1 + 1 || buf[sp2] !== 0x20) return bad('malformed request target');
  const v = sp2 + 1;
  let lineEnd = v + 8;
  let version: 10 | 11;
  if (
    buf[v] === H &&
    buf[v + 1] === T &&
    buf[v + 2] === T &&
    buf[v + 3] === P &&
    buf[v + 4] === 0x2f &&
    buf[v + 6] === 0x2e
  ) {
    const major = buf[v + 5]!;
    const minor = buf[v + 7]!;
    if (major === 0x31 && minor === 0x31) version = 11;
    else if (major === 0x31 && minor === 0x30) version = 10;
    else if (major >= 0x30 && major <= 0x39 && minor >= 0x30 && minor <= 0x39) {
      return new PorticoProxyError('PORTICO_VERSION_NOT_SUPPORTED', 'unsupported HTTP version');
    } else return bad('malformed HTTP version');
  } else return bad('malformed HTTP version');
  if (lineEnd > limits.maxRequestLineBytes)
    return new PorticoProxyError('PORTICO_URI_TOO_LONG', 'request line too long');
  if (lineEnd !== headEnd) {
    if (buf[lineEnd] !== 0x0d || buf[lineEnd + 1] !== 0x0a) return bad('malformed request line');
    lineEnd += 2;
  }

  const method = methodOf(buf, sp1);
  if (method === 'CONNECT')
    return new PorticoProxyError('PORTICO_METHOD_NOT_ALLOWED', 'CONNECT is not proxied');
  let target = buf.toString('latin1', sp1 + 1, sp2);
  let hostFromTarget: string | undefined;
  const first = target.charCodeAt(0);
  if (first === 0x2a /* * */) {
    if (target !== '*' || method !== 'OPTIONS') return bad('asterisk-form is only for OPTIONS *');
  } else if (first !== 0x2f /* / */) {
    const absolute = /^https?:\/\/([^/?#]*)([^#]*)$/i.exec(target);
    if (!absolute) return bad('request target must be origin-form or absolute-form http(s)');
    hostFromTarget = absolute[1]!;
    target = absolute[2] === '' ? '/' : absolute[2]!;
    if (target.charCodeAt(0) !== 0x2f) target = `/${target}`;
    if (!isValidAuthority(hostFromTarget))
      return new PorticoProxyError('PORTICO_BAD_HOST', 'invalid authority in target');
  }
  if (target.includes('#')) return bad('request target must not contain a fragment');

  // Field lines.
  const drop: DropList = [];
  let hostField: string | undefined;
  let upgradeValue: string | undefined;
  let expectContinue = false;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let forwardedPort: string | undefined;
  let forwarded: string | undefined;
  let requestId: string | undefined;
  framing.reset();
  cursor.reset(buf, lineEnd, headEnd, limits.maxHeaderCount, true);
  while (cursor.next()) {
    const id = cursor.id;
    if (cursor.underscore && parsing.headersWithUnderscores !== 'allow') {
      if (parsing.headersWithUnderscores === 'reject') return bad('header field name with "_"');
      drop.push(cursor.lineStart, cursor.nextLine);
      continue;
    }
    if (id === F.OTHER) continue;
    const taken = framing.take(cursor);
    if (taken === INVALID_LENGTH)
      return new PorticoProxyError('PORTICO_BAD_FRAMING', 'invalid or conflicting Content-Length');
    if (taken === TAKEN) {
      drop.push(cursor.lineStart, cursor.nextLine);
      continue;
    }
    switch (id) {
      case F.HOST:
        if (hostField !== undefined)
          return new PorticoProxyError('PORTICO_BAD_HOST', 'more than one Host field');
        hostField = cursor.value();
        if (hostFromTarget !== undefined) drop.push(cursor.lineStart, cursor.nextLine);
        continue;
      case F.UPGRADE:
        upgradeValue = cursor.value();
        break;
      case F.X_FORWARDED_FOR:
        forwardedFor = forwardedFor === undefined ? cursor.value() : `${forwardedFor}, ${cursor.value()}`;
        break;
      case F.X_FORWARDED_PROTO:
        forwardedProto ??= cursor.value();
        break;
      case F.X_FORWARDED_HOST:
        forwardedHost ??= cursor.value();
        break;
      case F.X_FORWARDED_PORT:
        forwardedPort ??= cursor.value();
        break;
      case F.FORWARDED:
        forwarded = forwarded === undefined ? cursor.value() : `${forwarded}, ${cursor.value()}`;
        break;
      case F.X_REQUEST_ID:
        requestId ??= cursor.value();
        continue; // end-to-end: forwarded as sent
      case F.EXPECT:
        if (cursor.valueEnd - cursor.valueStart === 12 && cursor.value().toLowerCase() === '100-continue')
          expectContinue = true;
        continue; // end-to-end: forwarded
    }
    drop.push(cursor.lineStart, cursor.nextLine);
  }
  if (cursor.error !== undefined) return cursor.error;

  if (hostField !== undefined) {
    if (!isValidAuthority(hostField)) return new PorticoProxyError('PORTICO_BAD_HOST', 'invalid Host field');
    if (hostFromTarget !== undefined && hostFromTarget.toLowerCase() !== hostField.toLowerCase()) {
      return new PorticoProxyError('PORTICO_BAD_HOST', 'Host does not match the absolute-form target');
    }
  } else if (version === 11) {
    return new PorticoProxyError('PORTICO_BAD_HOST', 'HTTP/1.1 request without Host');
  }

  const bodyLength = framing.framing(version);
  if (typeof bodyLength === 'string') return new PorticoProxyError('PORTICO_BAD_FRAMING', bodyLength);
  const keepAlive = framing.persistent(version, buf, lineEnd, headEnd, drop, true);
  const upgrade =
    upgradeValue !== undefined && framing.connectionHas('upgrade') ? upgradeValue.toLowerCase() : undefined;

  const routed = routedTarget(target, parsing);
  if (routed instanceof PorticoProxyError) return routed;
  const { path, normalized } = routed;
  target = routed.target;
  return {
    buf,
    headEnd,
    versionStart: v,
    fieldsStart: lineEnd,
    drop,
    method,
    target,
    version,
    host: hostFromTarget ?? hostField ?? '',
    hostInTarget: hostFromTarget !== undefined,
    path,
    normalized,
    fieldCount: cursor.count,
    bodyLength,
    keepAlive,
    expectContinue,
    upgrade,
    forwardedFor,
    forwardedProto,
    forwardedHost,
    forwardedPort,
    forwarded,
    requestId,
  };
}

/**
 * routedTarget splits a request target into the path routed on, normalised as `parsing` says, and the
 * target sent upstream (the normalised path and the query as sent); or the error for a path that cannot
 * be normalised. `*` is left as it is.
 */
export function routedTarget(
  target: string,
  parsing: RequestParsing,
): { readonly target: string; readonly path: string; readonly normalized: boolean } | PorticoProxyError {
  const q = target.indexOf('?');
  const sentPath = q < 0 ? target : target.slice(0, q);
  const path = target === '*' ? sentPath : normalizePath(sentPath, parsing);
  if (typeof path === 'number')
    return bad(path === ESCAPED_SLASH ? 'encoded slash in the path' : 'invalid percent-encoding in the path');
  const normalized = path !== sentPath;
  return { target: normalized ? (q < 0 ? path : path + target.slice(q)) : target, path, normalized };
}

function bad(message: string): PorticoProxyError {
  return new PorticoProxyError('PORTICO_BAD_REQUEST', message);
}

/** isValidAuthority accepts `host`, `host:port` and `[v6]:port`; never userinfo, paths, lists or spaces. */
export function isValidAuthority(value: string): boolean {
  if (value.length === 0 || value.length > 261) return false;
  for (let i = 0; i < value.length; i++) if (HOST_CHARS[value.charCodeAt(i)] !== 1) return false;
  let hostEnd = value.length;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf(']');
    if (close < 0 || !/^\[[0-9A-Fa-f:.]+\]$/.test(value.slice(0, close + 1))) return false;
    hostEnd = close + 1;
    if (hostEnd < value.length && value.charCodeAt(hostEnd) !== 0x3a) return false;
  } else {
    const colon = value.indexOf(':');
    if (colon >= 0) hostEnd = colon;
    if (hostEnd === 0 || value.includes('[') || value.includes(']')) return false;
  }
  if (hostEnd < value.length) {
    // A port: 1-5 digits, at most 65535 (a loop, not a regular expression: this runs per request).
    const digits = value.length - hostEnd - 1;
    if (digits < 1 || digits > 5) return false;
    let port = 0;
    for (let i = hostEnd + 1; i < value.length; i++) {
      const digit = value.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) return false;
      port = port * 10 + digit;
    }
    if (port > 65_535) return false;
  }
  return true;
}
