import type { OutgoingHttpHeaders } from 'node:http2';
import { CONNECTION_SPECIFIC_FIELDS } from '../http/connection-specific-fields.ts';
import { addFieldLines, addHeadFields } from '../http/header-list.ts';
import type { ResponseHead } from '../http/response-head.ts';
import { HTTP2_HEADER_STATUS } from './h2-constants.ts';

/**
 * SINGLE_VALUE are the fields Node's HTTP/2 stack accepts once only; a repeated one keeps its first value
 * (an HTTP/1.1 upstream may repeat them, HTTP/2 cannot carry that).
 */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials',
  'access-control-max-age',
  'access-control-request-method',
  'age',
  'authorization',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'dnt',
  'etag',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'tk',
  'upgrade-insecure-requests',
  'user-agent',
  'x-content-type-options',
]);

/**
 * trailerFields turns trailers (flat name, value pairs) into an HTTP/2 header list.
 */
export function trailerFields(trailers: readonly string[]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (let i = 0; i < trailers.length; i += 2) add(headers, trailers[i]!, trailers[i + 1]!);
  return headers;
}

/**
 * responseHeaders maps an upstream response head straight to an HTTP/2 header list (one from an HTTP/2
 * upstream keeps its field list): `:status`,
 * its field lines less `res.drop` (hop-by-hop and framing, and what the response filters removed), a
 * canonical `content-length` when the upstream framed the body by length, and `lines` (what Portico and
 * the filters add, each `name: value` CRLF). Names are lower-cased, connection-specific fields dropped.
 */
export function responseHeaders(res: ResponseHead, lines: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { [HTTP2_HEADER_STATUS]: res.status };
  const fields = res.fields;
  if (fields !== undefined) {
    for (let i = 0; i < fields.length; i += 2) add(headers, fields[i]!, fields[i + 1]!);
  } else addHeadFields(headers, res.buf, res.fieldsStart, res.headEnd, res.drop, false, add);
  if (res.framing >= 0) headers['content-length'] = res.framing;
  addFieldLines(headers, lines, add);
  return headers;
}

function add(headers: OutgoingHttpHeaders, name: string, value: string): void {
  if (CONNECTION_SPECIFIC_FIELDS.has(name)) return;
  const previous = headers[name];
  if (previous === undefined) headers[name] = value;
  else if (SINGLE_VALUE.has(name)) return;
  else if (Array.isArray(previous)) previous.push(value);
  else headers[name] = [String(previous), value];
}
