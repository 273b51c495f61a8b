import type { LimitsConfig } from '@portico/config';
import { PorticoProxyError } from '../proxy-error.ts';
import { HOST, TARGET, TOKEN } from './char-classes.ts';
import { type FieldList, parseFields, parseFraming } from './fields.ts';

/** RequestHead is a parsed, validated request head. Field names keep the case the client sent. */
export interface RequestHead extends FieldList {
  readonly method: string;
  /** target is the request target in origin form (`/path?query`), or `*` for `OPTIONS *`. */
  readonly target: string;
  /** version is 10 for HTTP/1.0 and 11 for HTTP/1.1. */
  readonly version: 10 | 11;
  /** host is the authority routed on and sent upstream: the absolute-form authority or the Host field. */
  readonly host: string;
  /** path is the target's path without its query, for routing. */
  readonly path: string;
  /** bodyLength is the Content-Length, -1 for a chunked body, or -2 when the head declares no body. */
  readonly bodyLength: number;
  /** keepAlive tells whether the client wants the connection kept open after this exchange. */
  readonly keepAlive: boolean;
  /** expectContinue is true when the client sent `Expect: 100-continue`. */
  readonly expectContinue: boolean;
}

type Limits = Pick<LimitsConfig, 'maxRequestLineBytes' | 'maxHeaderCount'>;

/**
 * parseRequestHead parses the head in `head` (a latin1 string without the final CRLF CRLF) with RFC 9112
 * strictness and returns it, or the error the client must be answered with. Nothing ambiguous passes:
 * bare CR or LF, obs-fold, whitespace before a colon, invalid characters, conflicting framing and bad
 * Host values are all rejected.
 */
export function parseRequestHead(head: string, limits: Limits): RequestHead | PorticoProxyError {
  const lineEnd = head.indexOf('\r\n');
  const requestLineLength = lineEnd < 0 ? head.length : lineEnd;
  if (requestLineLength > limits.maxRequestLineBytes) {
    return new PorticoProxyError('PORTICO_URI_TOO_LONG', 'request line too long');
  }
  const sp1 = head.indexOf(' ');
  if (sp1 <= 0 || sp1 >= requestLineLength) return bad('malformed request line');
  const sp2 = head.indexOf(' ', sp1 + 1);
  if (sp2 < 0 || sp2 >= requestLineLength || sp2 === sp1 + 1) return bad('malformed request line');
  const method = head.slice(0, sp1);
  for (let i = 0; i < sp1; i++) if (TOKEN[head.charCodeAt(i)] !== 1) return bad('invalid method');
  for (let i = sp1 + 1; i < sp2; i++)
    if (TARGET[head.charCodeAt(i)] !== 1) return bad('invalid request target');
  const versionText = head.slice(sp2 + 1, requestLineLength);
  let version: 10 | 11;
  if (versionText === 'HTTP/1.1') version = 11;
  else if (versionText === 'HTTP/1.0') version = 10;
  else if (/^HTTP\/\d\.\d$/.test(versionText)) {
    return new PorticoProxyError('PORTICO_VERSION_NOT_SUPPORTED', `unsupported version ${versionText}`);
  } else return bad('malformed HTTP version');

  const fields = parseFields(head, lineEnd < 0 ? head.length : lineEnd + 2, limits.maxHeaderCount);
  if (fields instanceof PorticoProxyError) return fields;

  let target = head.slice(sp1 + 1, sp2);
  let host: string | undefined;
  if (method === 'CONNECT')
    return new PorticoProxyError('PORTICO_METHOD_NOT_ALLOWED', 'CONNECT is not proxied');
  const first = target.charCodeAt(0);
  if (first === 0x2a /* * */) {
    if (target !== '*' || method !== 'OPTIONS') return bad('asterisk-form is only for OPTIONS *');
  } else if (first !== 0x2f /* / */) {
    const absolute = /^https?:\/\/([^/?#]*)([^#]*)$/i.exec(target);
    if (!absolute) return bad('request target must be origin-form or absolute-form http(s)');
    host = absolute[1]!;
    target = absolute[2] === '' ? '/' : absolute[2]!;
    if (target.charCodeAt(0) !== 0x2f) target = `/${target}`;
    if (!isValidAuthority(host))
      return new PorticoProxyError('PORTICO_BAD_HOST', 'invalid authority in target');
  }
  if (target.includes('#')) return bad('request target must not contain a fragment');

  let hostField: string | undefined;
  let keepAlive = version === 11;
  let expectContinue = false;
  const { lower, values } = fields;
  for (let i = 0; i < lower.length; i++) {
    const name = lower[i]!;
    if (name === 'host') {
      if (hostField !== undefined)
        return new PorticoProxyError('PORTICO_BAD_HOST', 'more than one Host field');
      hostField = values[i]!;
    } else if (name === 'connection') {
      const tokens = values[i]!.toLowerCase();
      if (/(^|[\s,])close($|[\s,])/.test(tokens)) keepAlive = false;
      else if (version === 10 && /(^|[\s,])keep-alive($|[\s,])/.test(tokens)) keepAlive = true;
    } else if (name === 'expect' && values[i]!.toLowerCase() === '100-continue') {
      expectContinue = true;
    }
  }
  if (hostField !== undefined) {
    if (!isValidAuthority(hostField)) return new PorticoProxyError('PORTICO_BAD_HOST', 'invalid Host field');
    if (host !== undefined && host.toLowerCase() !== hostField.toLowerCase()) {
      return new PorticoProxyError('PORTICO_BAD_HOST', 'Host does not match the absolute-form target');
    }
  } else if (version === 11) {
    return new PorticoProxyError('PORTICO_BAD_HOST', 'HTTP/1.1 request without Host');
  }

  const bodyLength = parseFraming(fields, version, true);
  if (bodyLength instanceof PorticoProxyError) return bodyLength;

  const q = target.indexOf('?');
  return {
    method,
    target,
    version,
    host: host ?? hostField ?? '',
    path: q < 0 ? target : target.slice(0, q),
    bodyLength,
    keepAlive,
    expectContinue,
    ...fields,
  };
}

function bad(message: string): PorticoProxyError {
  return new PorticoProxyError('PORTICO_BAD_REQUEST', message);
}

/** isValidAuthority accepts `host`, `host:port` and `[v6]:port`; never userinfo, paths, lists or spaces. */
export function isValidAuthority(value: string): boolean {
  if (value.length === 0 || value.length > 261) return false;
  for (let i = 0; i < value.length; i++) if (HOST[value.charCodeAt(i)] !== 1) return false;
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
    const port = value.slice(hostEnd + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535) return false;
  }
  return true;
}
