import type { HeadPlan } from './assemble-head.ts';
import type { RequestHead } from './request-head.ts';
import type { ResponseHead } from './response-head.ts';

/** ClientFacts are what Portico tells the upstream about the client in `X-Forwarded-*` and `X-Real-IP`. */
export interface ClientFacts {
  readonly address: string;
  readonly port: number;
  readonly proto: 'http' | 'https';
}

/**
 * forwardedLines renders the `X-Forwarded-For/-Proto/-Port` and `X-Real-IP` lines, which are the same for
 * every request of a connection, so a connection renders them once.
 */
export function forwardedLines(client: ClientFacts): string {
  return (
    `x-forwarded-for: ${client.address}\r\nx-real-ip: ${client.address}\r\n` +
    `x-forwarded-proto: ${client.proto}\r\nx-forwarded-port: ${client.port}\r\n`
  );
}

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
 * Host for absolute-form requests, and `X-Forwarded-*`. The plan object is reused: use it at once.
 */
export function upstreamRequestPlan(req: RequestHead, forwarded: string): HeadPlan {
  plan.src = req.buf;
  if (req.hostInTarget) {
    plan.lead = `${req.method} ${req.target} `;
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
  let extra = req.hostInTarget ? `host: ${req.host}\r\n` : '';
  if (req.bodyLength >= 0) extra += `content-length: ${req.bodyLength}\r\n`;
  else if (req.bodyLength === -1) extra += 'transfer-encoding: chunked\r\n';
  if (req.version === 10) extra += 'connection: keep-alive\r\n';
  plan.extra = `${extra}${forwarded}x-forwarded-host: ${req.host}\r\n`;
  return plan;
}

/**
 * downstreamResponsePlan describes the head sent to the client: `HTTP/1.1` and the upstream's status line,
 * its end-to-end field lines as received, canonical framing, and `connection: close` when Portico will
 * close the client connection after this response. The plan object is reused: use it at once.
 */
export function downstreamResponsePlan(res: ResponseHead, close: boolean): HeadPlan {
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
  plan.extra = extra;
  return plan;
}
