import { PorticoProxyError } from '../proxy-error.ts';
import { FIELD_VALUE } from './char-classes.ts';
import { type FieldList, NO_LENGTH, parseFields, parseFraming } from './fields.ts';

/** ResponseHead is a parsed, validated upstream response head. */
export interface ResponseHead extends FieldList {
  readonly status: number;
  readonly reason: string;
  readonly version: 10 | 11;
  /**
   * bodyLength is the Content-Length, -1 for chunked, 0 when the response has no body (HEAD, 1xx, 204,
   * 304), or -2 when the body runs until the upstream closes the connection.
   */
  readonly bodyLength: number;
  /** framing is what the head declares: a Content-Length, -1 for chunked, or -2 for neither. */
  readonly framing: number;
  /** reusable tells whether the upstream connection may carry another request after this response. */
  readonly reusable: boolean;
}

/** MAX_RESPONSE_FIELDS bounds the field lines of an upstream response head. */
const MAX_RESPONSE_FIELDS = 256;

/**
 * parseResponseHead parses an upstream response head (a latin1 string without the final CRLF CRLF) as
 * strictly as requests are parsed; `method` is the request's method, which decides framing for HEAD.
 * An error means the response must not reach the client (502) and the connection must be dropped.
 */
export function parseResponseHead(head: string, method: string): ResponseHead | PorticoProxyError {
  const lineEnd = head.indexOf('\r\n');
  const statusLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
  let version: 10 | 11;
  if (statusLine.startsWith('HTTP/1.1 ')) version = 11;
  else if (statusLine.startsWith('HTTP/1.0 ')) version = 10;
  else return bad('invalid status line');
  const code = statusLine.slice(9, 12);
  if (!/^[1-9]\d\d$/.test(code) || (statusLine.length > 12 && statusLine.charCodeAt(12) !== 0x20)) {
    return bad('invalid status code');
  }
  const reason = statusLine.length > 13 ? statusLine.slice(13) : '';
  for (let i = 0; i < reason.length; i++)
    if (FIELD_VALUE[reason.charCodeAt(i)] !== 1) return bad('invalid reason');

  const fields = parseFields(head, lineEnd < 0 ? head.length : lineEnd + 2, MAX_RESPONSE_FIELDS);
  if (fields instanceof PorticoProxyError) return bad(fields.message);
  const framing = parseFraming(fields, version, false);
  if (framing instanceof PorticoProxyError) return framing;

  const status = Number(code);
  let reusable = version === 11;
  for (let i = 0; i < fields.lower.length; i++) {
    if (fields.lower[i] === 'connection') {
      const tokens = fields.values[i]!.toLowerCase();
      if (/(^|[\s,])close($|[\s,])/.test(tokens)) reusable = false;
      else if (version === 10 && /(^|[\s,])keep-alive($|[\s,])/.test(tokens)) reusable = true;
    }
  }
  let bodyLength = framing;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) bodyLength = 0;
  else if (framing === NO_LENGTH) reusable = false;
  if (status === 101) reusable = false;
  return { status, reason, version, framing, bodyLength, reusable, ...fields };
}

function bad(message: string): PorticoProxyError {
  return new PorticoProxyError('PORTICO_UPSTREAM_BAD_RESPONSE', message);
}
