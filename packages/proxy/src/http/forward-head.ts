import type { HeadPlan } from './assemble-head.ts';
import type { RequestHead } from './request-head.ts';
import type { ResponseHead } from './response-head.ts';
import { STATUS_CODES } from './status-codes.ts';

const plan: HeadPlan = {
  src: Buffer.alloc(0),
  lead: '',
  lineStart: 0,
  lineEnd: 0,
  tail: '',
  fieldsStart: 0,
  fieldsEnd: 0,
  drop: [],
  extra: '',
};

/**
 * upstreamRequestPlan describes the head sent upstream: the client's request line (target unchanged;
 * version HTTP/1.1, or HTTP/1.0 for an HTTP/1.0 client, which cannot read chunked responses), the
 * client's end-to-end field lines in their order and case (hop-by-hop fields, those named in
 * `Connection`, framing, `Proxy` and client-sent `X-Forwarded-*` dropped), then canonical framing, the
 * Host for absolute-form requests, and `lines` (forwarding fields, route header rules). `target`
 * replaces the request target when a route rewrites it, and `host` the Host when a route sets it (the
 * client's Host line must then be in `req.drop`). The plan object is reused: use it at once.
 */
export function upstreamRequestPlan(
  req: RequestHead,
  target: string | undefined,
  lines: string,
  host?: string,
  removed?: readonly ReadonlySet<string>[],
): HeadPlan {
  if (req.fields !== undefined) return listRequestPlan(req, req.fields, target, lines, host, removed);
  plan.src = req.buf;
  if (req.hostInTarget || req.normalized || target !== undefined) {
    plan.lead = `${req.method} ${target ?? req.target} `;
    plan.lineStart = plan.lineEnd = 0;
  } else {
    plan.lead = '';
    plan.lineStart = 0;
    plan.lineEnd = req.versionStart;
  }
  plan.tail = req.version === 11 ? 'HTTP/1.1\r\n' : 'HTTP/1.0\r\n';
  plan.fieldsStart = req.fieldsStart;
  plan.fieldsEnd = req.fieldsStart === req.headEnd ? req.headEnd : req.headEnd + 2;
  plan.drop = req.drop;
  let extra = host !== undefined ? `host: ${host}\r\n` : req.hostInTarget ? `host: ${req.host}\r\n` : '';
  if (req.bodyLength >= 0) extra += `content-length: ${req.bodyLength}\r\n`;
  else if (req.bodyLength === -1) extra += 'transfer-encoding: chunked\r\n';
  if (req.version === 10) extra += 'connection: keep-alive\r\n';
  plan.extra = extra + lines;
  return plan;
}

const EMPTY = Buffer.alloc(0);

/**
 * listRequestPlan is `upstreamRequestPlan` for a head that came as a field list (HTTP/2, `node:http`):
 * its fields are rendered in their order, less those named in `removed`.
 */
function listRequestPlan(
  req: RequestHead,
  fields: readonly string[],
  target: string | undefined,
  lines: string,
  host: string | undefined,
  removed: readonly ReadonlySet<string>[] | undefined,
): HeadPlan {
  plan.src = EMPTY;
  plan.lead = `${req.method} ${target ?? req.target} `;
  plan.lineStart = plan.lineEnd = 0;
  plan.tail = 'HTTP/1.1\r\n';
  plan.fieldsStart = plan.fieldsEnd = 0;
  plan.drop = [];
  let extra = `host: ${host ?? req.host}\r\n`;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (removed !== undefined && isRemoved(removed, name)) continue;
    extra += `${name}: ${fields[i + 1]}\r\n`;
  }
  if (req.bodyLength >= 0) extra += `content-length: ${req.bodyLength}\r\n`;
  else if (req.bodyLength === -1) extra += 'transfer-encoding: chunked\r\n';
  plan.extra = extra + lines;
  return plan;
}

function isRemoved(removed: readonly ReadonlySet<string>[], name: string): boolean {
  for (const names of removed) if (names.has(name)) return true;
  return false;
}

/**
 * downstreamResponsePlan describes the head sent to the client: `HTTP/1.1` and the upstream's status line,
 * its end-to-end field lines as received, canonical framing, `connection: close` when Portico will close
 * the client connection after this response, and `lines` (route header rules, Via). The plan object is
 * reused: use it at once.
 */
export function downstreamResponsePlan(res: ResponseHead, close: boolean, lines = ''): HeadPlan {
  if (res.fields !== undefined) return listResponsePlan(res, res.fields, close, lines);
  plan.src = res.buf;
  plan.lead = 'HTTP/1.1 ';
  plan.lineStart = res.statusStart;
  plan.lineEnd = res.fieldsStart === res.headEnd ? res.headEnd : res.fieldsStart;
  plan.tail = res.fieldsStart === res.headEnd ? '\r\n' : '';
  plan.fieldsStart = res.fieldsStart;
  plan.fieldsEnd = res.fieldsStart === res.headEnd ? res.headEnd : res.headEnd + 2;
  plan.drop = res.drop;
  let extra = '';
  if (res.framing >= 0) extra = `content-length: ${res.framing}\r\n`;
  else if (res.framing === -1) extra = 'transfer-encoding: chunked\r\n';
  if (close) extra += 'connection: close\r\n';
  plan.extra = extra + lines;
  return plan;
}

/** listResponsePlan is `downstreamResponsePlan` for a response that came as a field list (HTTP/2). */
function listResponsePlan(
  res: ResponseHead,
  fields: readonly string[],
  close: boolean,
  lines: string,
): HeadPlan {
  plan.src = EMPTY;
  plan.lead = `HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? 'Unknown'}\r\n`;
  plan.lineStart = plan.lineEnd = 0;
  plan.tail = '';
  plan.fieldsStart = plan.fieldsEnd = 0;
  plan.drop = [];
  let extra = '';
  for (let i = 0; i < fields.length; i += 2) extra += `${fields[i]}: ${fields[i + 1]}\r\n`;
  if (res.framing >= 0) extra += `content-length: ${res.framing}\r\n`;
  else if (res.framing === -1) extra += 'transfer-encoding: chunked\r\n';
  if (close) extra += 'connection: close\r\n';
  plan.extra = extra + lines;
  return plan;
}

/**
 * withoutFields returns field `lines` (each ending in CRLF) without those whose lower-case name is in
 * `names`: the fields Portico would write that a route's header rules replace or remove.
 */
export function withoutFields(lines: string, names: ReadonlySet<string>): string {
  let kept = '';
  let from = 0;
  while (from < lines.length) {
    const end = lines.indexOf('\r\n', from) + 2;
    const colon = lines.indexOf(':', from);
    if (!names.has(lines.slice(from, colon).toLowerCase())) kept += lines.slice(from, end);
    from = end;
  }
  return kept;
}
