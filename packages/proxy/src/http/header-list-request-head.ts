import type { IncomingHttpHeaders } from 'node:http2';
import type { LimitsConfig } from '@portico/config';
import { FORWARDING_FIELDS } from '../forwarding-policy.ts';
import { PorticoProxyError } from '../proxy-error.ts';
import { FIELD_VALUE, isToken, TARGET } from './char-classes.ts';
import { CONNECTION_SPECIFIC_FIELDS } from './connection-specific-fields.ts';
import { isValidAuthority, type RequestHead, type RequestParsing, routedTarget } from './request-head.ts';

const EMPTY = Buffer.alloc(0);

/**
 * NOT_FORWARDED are the fields of a request Portico does not pass on as they are: those HTTP/2
 * forbids (RFC 9113 8.2.2), framing, and those Portico writes itself (forwarding fields, read into the
 * head for trusted peers, and `Proxy`). The same fields the HTTP/1.1 parser drops.
 */
const NOT_FORWARDED = new Set([
  ...CONNECTION_SPECIFIC_FIELDS,
  'host',
  'content-length',
  ...FORWARDING_FIELDS,
  'proxy',
]);

type Limits = Pick<LimitsConfig, 'maxRequestLineBytes' | 'maxHeaderCount'>;

/**
 * headerListRequestHead maps a request that came as a decoded header list (an HTTP/2 stream, or a
 * `node:http` request given its `:method`, `:path` and `:authority`) straight onto the message model, with
 * the checks the HTTP/1.1 parser makes on the same parts (RFC 9113 8.3): a token method other than CONNECT, an
 * origin-form `:path` (or `*` for OPTIONS) of visible ASCII, `:authority` and `host` that agree and form a
 * valid authority, field values without control characters (nghttp2 refuses most; this is the second
 * lock), and the listener's path normalisation and underscore policy. Cookie crumbs are joined (RFC 9113
 * 8.2.3). `endStream` says the request has no body (the HEADERS frame ended the stream).
 */
export function headerListRequestHead(
  headers: IncomingHttpHeaders,
  endStream: boolean,
  limits: Limits,
  parsing: RequestParsing,
): RequestHead | PorticoProxyError {
  const method = headers[':method'];
  const path = headers[':path'];
  const authority = headers[':authority'];
  const hostField = headers.host;
  if (method === undefined || !isToken(method)) return bad('missing or invalid :method');
  if (method === 'CONNECT')
    return new PorticoProxyError('PORTICO_METHOD_NOT_ALLOWED', 'CONNECT is not proxied');
  if (path === undefined || !(path.startsWith('/') || (path === '*' && method === 'OPTIONS')))
    return bad(':path must be origin-form');
  if (path.length + method.length > limits.maxRequestLineBytes)
    return new PorticoProxyError('PORTICO_URI_TOO_LONG', ':path too long');
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c > 0xff || TARGET[c] !== 1 || c === 0x23)
      return bad(':path holds a character not allowed in a target');
  }
  if (authority !== undefined && hostField !== undefined && authority !== hostField)
    return new PorticoProxyError('PORTICO_BAD_HOST', ':authority and host disagree');
  const host = authority ?? hostField;
  if (host === undefined || !isValidAuthority(host))
    return new PorticoProxyError('PORTICO_BAD_HOST', 'missing or invalid :authority');

  const fields: string[] = [];
  let count = 0;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let forwardedPort: string | undefined;
  let forwarded: string | undefined;
  let requestId: string | undefined;
  let expectContinue = false;
  let acceptsTrailers = false;
  let bodyLength = endStream ? (method === 'GET' || method === 'HEAD' ? -2 : 0) : -1;
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a) continue; // pseudo-header
    const raw = headers[name];
    if (raw === undefined) continue;
    const values =
      name === 'cookie' && Array.isArray(raw) ? [raw.join('; ')] : Array.isArray(raw) ? raw : [raw];
    for (const value of values) {
      if (!isFieldValue(value)) return bad(`invalid ${name} value`);
    }
    count += values.length;
    if (count > limits.maxHeaderCount)
      return new PorticoProxyError('PORTICO_HEAD_TOO_LARGE', 'too many header fields');
    if (name.includes('_') && parsing.headersWithUnderscores !== 'allow') {
      if (parsing.headersWithUnderscores === 'reject') return bad('header field name with "_"');
      continue;
    }
    const first = values[0]!;
    switch (name) {
      case 'content-length':
        if (values.length !== 1 || !/^\d{1,15}$/.test(first))
          return new PorticoProxyError('PORTICO_BAD_FRAMING', 'invalid content-length');
        if (!endStream) bodyLength = Number(first);
        else if (first !== '0')
          return new PorticoProxyError('PORTICO_BAD_FRAMING', 'content-length without a body');
        break;
      case 'x-forwarded-for':
        forwardedFor = values.join(', ');
        break;
      case 'x-forwarded-proto':
        forwardedProto = first;
        break;
      case 'x-forwarded-host':
        forwardedHost = first;
        break;
      case 'x-forwarded-port':
        forwardedPort = first;
        break;
      case 'forwarded':
        forwarded = values.join(', ');
        break;
      case 'x-request-id':
        requestId = first;
        break;
      case 'expect':
        expectContinue = first.toLowerCase() === '100-continue';
        break;
      case 'te':
        acceptsTrailers = first.toLowerCase().includes('trailers');
        break;
    }
    if (NOT_FORWARDED.has(name)) continue;
    for (const value of values) fields.push(name, value);
  }

  const routed = routedTarget(path, parsing);
  if (routed instanceof PorticoProxyError) return routed;
  return {
    buf: EMPTY,
    headEnd: 0,
    versionStart: 0,
    fieldsStart: 0,
    drop: [],
    method,
    target: routed.target,
    version: 11,
    host,
    hostInTarget: false,
    path: routed.path,
    normalized: routed.normalized,
    fieldCount: count,
    bodyLength,
    keepAlive: true,
    expectContinue,
    upgrade: undefined,
    forwardedFor,
    forwardedProto,
    forwardedHost,
    forwardedPort,
    forwarded,
    requestId,
    fields,
    acceptsTrailers,
  };
}

function isFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] !== 1) return false;
  }
  return true;
}

function bad(message: string): PorticoProxyError {
  return new PorticoProxyError('PORTICO_BAD_REQUEST', message);
}
