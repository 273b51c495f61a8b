import { STATUS_CODES } from 'node:http';

const cache = new Map<string, Buffer>();

/**
 * localResponse is the complete response Portico sends for a status it generates itself (400, 404, 502,
 * ...): a short plain-text body naming the status and nothing about internals. Responses are built once
 * per status and connection disposition and reused.
 */
export function localResponse(status: number, close: boolean): Buffer {
  const key = `${status}${close ? 'c' : 'k'}`;
  let response = cache.get(key);
  if (!response) {
    const reason = STATUS_CODES[status] ?? 'Error';
    const body = `${status} ${reason}\n`;
    response = Buffer.from(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n` +
        `cache-control: no-store\r\n${close ? 'connection: close\r\n' : ''}\r\n${body}`,
      'latin1',
    );
    cache.set(key, response);
  }
  return response;
}
