import type { RateLimitConfig } from '@portico/config';
import type { FilterExchange } from '../filter.ts';
import type { LocalReply } from '../local-reply.ts';

/** rateLimitKey returns how a limit keys requests: by client address, by a header's value, or one key for the route. */
export function rateLimitKey(limit: RateLimitConfig): (exchange: FilterExchange) => string | undefined {
  if (limit.key === 'route') return () => '';
  if (limit.key === 'header') {
    const header = limit.header!.toLowerCase();
    return (exchange) => exchange.header(header);
  }
  return (exchange) => exchange.clientAddress();
}

/** refusedReply is a rate limit's refusal: `status` with Retry-After, the seconds until `waitMs` ran out. */
export function refusedReply(status: number, waitMs: number): LocalReply {
  return {
    status,
    fields: [
      'retry-after',
      String(Math.max(1, Math.ceil(waitMs / 1000))),
      'content-type',
      'text/plain; charset=utf-8',
    ],
    body: 'too many requests\n',
    refusal: 'rate-limited',
  };
}

/** rateLimitLines renders the RateLimit-Limit, -Remaining and -Reset (seconds) fields. */
export function rateLimitLines(limit: number, remaining: number, resetMs: number): string {
  return `ratelimit-limit: ${limit}\r\nratelimit-remaining: ${remaining}\r\nratelimit-reset: ${Math.max(0, Math.ceil(resetMs / 1000))}\r\n`;
}
