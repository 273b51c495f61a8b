import type { RedirectConfig } from '@portico/config';
import type { RequestHead } from './request-head.ts';
import { STATUS_CODES } from './status-codes.ts';

/** RedirectInput is what a redirect needs from the request. */
export type RedirectInput = Pick<RequestHead, 'method' | 'host' | 'target' | 'path'>;

/**
 * redirectTarget computes a route's redirect: `Location` built from the route's scheme, host, port and
 * path, each defaulting to the request's (the query is kept; a scheme change drops the request's port),
 * with 301 for GET and HEAD and 308 otherwise unless the route names a status. `rewrittenPath` is the
 * request's path with the matched prefix replaced (`redirect.prefix`).
 */
export function redirectTarget(
  req: RedirectInput,
  redirect: RedirectConfig,
  scheme: 'http' | 'https',
  rewrittenPath?: string,
): { status: number; location: string } {
  const targetScheme = redirect.scheme ?? scheme;
  let host = redirect.host ?? req.host;
  if (redirect.host === undefined && (redirect.port !== undefined || targetScheme !== scheme)) {
    host = stripPort(host);
  }
  if (redirect.port !== undefined) host = `${stripPort(host)}:${redirect.port}`;
  const q = req.target.indexOf('?');
  const query = q < 0 ? '' : req.target.slice(q);
  const path = redirect.path ?? rewrittenPath ?? req.path;
  const status = redirect.status ?? (req.method === 'GET' || req.method === 'HEAD' ? 301 : 308);
  return { status, location: `${targetScheme}://${host}${path}${query}` };
}

/** redirectResponse renders the whole response for `redirectTarget`, keep-alive unless `close`. */
export function redirectResponse(
  req: RedirectInput,
  redirect: RedirectConfig,
  scheme: 'http' | 'https',
  close: boolean,
): { status: number; response: Buffer } {
  const { status, location } = redirectTarget(req, redirect, scheme);
  const response = Buffer.from(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nlocation: ${location}\r\ncontent-length: 0\r\n` +
      `${close ? 'connection: close\r\n' : ''}\r\n`,
    'latin1',
  );
  return { status, response };
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}
