import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { CONNECTION_SPECIFIC_FIELDS } from '../http/connection-specific-fields.ts';
import { addFieldLines, addHeadFields } from '../http/header-list.ts';
import type { RequestHead } from '../http/request-head.ts';
import type { HeadEditor } from '../pipeline/head-editor.ts';
import type { EndpointState } from './endpoint-state.ts';

/**
 * h2UpstreamRequestHeaders maps a request (an HTTP/1.1 head or a field list) to the header list sent to
 * an HTTP/2 upstream: pseudo-headers from the method, the endpoint's scheme, the Host and target as the
 * filters left them (`head`), the request's own fields less those dropped or removed, the lines Portico
 * adds (`lines`: forwarding, request id, filters), `te: trailers` (Portico relays trailers) and the
 * length when known. Connection-specific fields never pass.
 */
export function h2UpstreamRequestHeaders(
  req: RequestHead,
  head: HeadEditor,
  lines: string,
  endpoint: EndpointState,
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ':method': req.method,
    ':scheme': endpoint.tls === undefined ? 'http' : 'https',
    ':authority': head.host ?? req.host,
    ':path': head.target ?? req.target,
    te: 'trailers',
  };
  const fields = req.fields;
  if (fields !== undefined) {
    for (let i = 0; i < fields.length; i += 2)
      if (!head.removes(fields[i]!)) addHeader(headers, fields[i]!, fields[i + 1]!);
  } else {
    addHeadFields(headers, req.buf, req.fieldsStart, req.headEnd, req.drop, true, addHeader);
  }
  addFieldLines(headers, lines, addHeader);
  if (req.bodyLength >= 0) headers['content-length'] = req.bodyLength;
  return headers;
}

/**
 * h2ResponseFields takes the fields of an HTTP/2 upstream's response (or trailers) as flat name, value
 * pairs, less pseudo-headers, connection-specific fields and the names `head` removes; `length` is its
 * valid content-length, or -1.
 */
export function h2ResponseFields(
  headers: IncomingHttpHeaders,
  head: HeadEditor | undefined,
): { fields: string[]; length: number } {
  const fields: string[] = [];
  let length = -1;
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a || CONNECTION_SPECIFIC_FIELDS.has(name) || head?.removes(name) === true)
      continue;
    const value = headers[name]!;
    if (name === 'content-length') {
      const n = Number(value);
      if (Number.isSafeInteger(n) && n >= 0) length = n;
      continue;
    }
    if (Array.isArray(value)) for (const one of value) fields.push(name, one);
    else fields.push(name, String(value));
  }
  return { fields, length };
}

/** addHeader adds a request field to an HTTP/2 header list, making a list of a repeated one; Host is `:authority`. */
function addHeader(headers: OutgoingHttpHeaders, name: string, value: string): void {
  if (CONNECTION_SPECIFIC_FIELDS.has(name) || name === 'host') return;
  const previous = headers[name];
  if (previous === undefined) headers[name] = value;
  else if (Array.isArray(previous)) previous.push(value);
  else headers[name] = [String(previous), value];
}
