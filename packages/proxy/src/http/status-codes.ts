import { createRequire } from 'node:module';

/**
 * STATUS_CODES are the reason phrases by status code (`node:http`'s). Taken through `require`: importing
 * `node:http` as an ES module builds its whole namespace, which loads Node's bundled HTTP client (for
 * `WebSocket`), about 45 ms of every start for a table of strings.
 */
export const STATUS_CODES: Readonly<Record<number, string | undefined>> = (
  createRequire(import.meta.url)('node:http') as typeof import('node:http')
).STATUS_CODES;
