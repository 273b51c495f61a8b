import type { RequestHead } from './request-head.ts';
import type { ResponseHead } from './response-head.ts';

/**
 * HOP_BY_HOP are the fields that describe one connection, never forwarded as received (RFC 9110 7.6.1).
 * Framing fields are on the list too because Portico re-emits framing itself.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/** SET_BY_PORTICO are request fields Portico writes itself; what a client sends under these names is dropped. */
const SET_BY_PORTICO = new Set([
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'forwarded',
  'proxy',
]);

/** ClientFacts are what Portico tells the upstream about the client in `X-Forwarded-*`. */
export interface ClientFacts {
  readonly address: string;
  readonly port: number;
  readonly proto: 'http' | 'https';
}

/**
 * upstreamRequestHead writes the head sent to the upstream: the client's end-to-end fields in their order
 * and case, without hop-by-hop fields or those the client listed in `Connection`, with the routed Host,
 * canonical framing and `X-Forwarded-*` describing the client, always asking for keep-alive.
 */
export function upstreamRequestHead(req: RequestHead, client: ClientFacts): string {
  const nominated = connectionTokens(req);
  // An HTTP/1.0 client cannot read a chunked response, so its request goes upstream as HTTP/1.0 too.
  let head =
    req.version === 11
      ? `${req.method} ${req.target} HTTP/1.1\r\nhost: ${req.host}\r\n`
      : `${req.method} ${req.target} HTTP/1.0\r\nhost: ${req.host}\r\nconnection: keep-alive\r\n`;
  const { names, lower, values } = req;
  for (let i = 0; i < names.length; i++) {
    const name = lower[i]!;
    if (HOP_BY_HOP.has(name) || SET_BY_PORTICO.has(name)) continue;
    if (nominated?.includes(name)) continue;
    head += `${names[i]}: ${values[i]}\r\n`;
  }
  if (req.bodyLength >= 0) head += `content-length: ${req.bodyLength}\r\n`;
  else if (req.bodyLength === -1) head += 'transfer-encoding: chunked\r\n';
  head +=
    `x-forwarded-for: ${client.address}\r\nx-real-ip: ${client.address}\r\nx-forwarded-proto: ${client.proto}\r\n` +
    `x-forwarded-host: ${req.host}\r\nx-forwarded-port: ${client.port}\r\n\r\n`;
  return head;
}

/**
 * downstreamResponseHead writes the head sent to the client: the upstream's status and end-to-end fields,
 * canonical framing, and `connection: close` when Portico will close the client connection after it.
 */
export function downstreamResponseHead(res: ResponseHead, close: boolean): string {
  const nominated = connectionTokens(res);
  let head = `HTTP/1.1 ${res.status} ${res.reason}\r\n`;
  const { names, lower, values } = res;
  for (let i = 0; i < names.length; i++) {
    const name = lower[i]!;
    if (HOP_BY_HOP.has(name)) continue;
    if (nominated?.includes(name)) continue;
    head += `${names[i]}: ${values[i]}\r\n`;
  }
  if (res.framing >= 0) head += `content-length: ${res.framing}\r\n`;
  else if (res.framing === -1) head += 'transfer-encoding: chunked\r\n';
  if (close) head += 'connection: close\r\n';
  return `${head}\r\n`;
}

/** connectionTokens lists the lower-case field names a message's `Connection` fields nominate, if any. */
function connectionTokens(message: {
  readonly lower: readonly string[];
  readonly values: readonly string[];
}) {
  let tokens: string[] | undefined;
  const { lower, values } = message;
  for (let i = 0; i < lower.length; i++) {
    if (lower[i] !== 'connection') continue;
    for (const token of values[i]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name === '' || name === 'close' || name === 'keep-alive') continue;
      tokens ??= [];
      tokens.push(name);
    }
  }
  return tokens;
}
