import type { LocalReply } from '../pipeline/local-reply.ts';
import { STATUS_CODES } from './status-codes.ts';

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

/**
 * localReply renders a response a filter made (a redirect, a refusal) as HTTP/1.1: its fields, a
 * content-length for its body, and `connection: close` when the connection closes after it.
 */
export function localReply(reply: LocalReply, close: boolean): Buffer {
  const body = reply.body ?? '';
  let head = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Unknown'}\r\n`;
  const fields = reply.fields;
  for (let i = 0; i < fields.length; i += 2) head += `${fields[i]}: ${fields[i + 1]}\r\n`;
  const bytes = Buffer.byteLength(body);
  head += `content-length: ${bytes}\r\n${close ? 'connection: close\r\n' : ''}\r\n`;
  // The head is latin1 (checked visible ASCII); the body is UTF-8, as its length was counted.
  if (bytes === body.length) return Buffer.from(head + body, 'latin1');
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'utf8')]);
}
