import type { RedirectConfig } from '@portico/config';
import { redirectTarget } from '../../http/redirect.ts';
import { rewriteTarget } from '../../http/rewrite-target.ts';
import type { Filter, FilterExchange } from '../filter.ts';
import type { LocalReply } from '../local-reply.ts';

/**
 * RedirectFilter answers every request of its route with a redirect (`routes[].redirect`): `Location` is
 * built from the configured scheme, host, port and path (or the matched prefix replaced), each
 * defaulting to the request's.
 */
export class RedirectFilter implements Filter {
  readonly name = 'redirect';
  readonly #redirect: RedirectConfig;

  constructor(redirect: RedirectConfig) {
    this.#redirect = redirect;
  }

  request(exchange: FilterExchange): LocalReply {
    const prefix = this.#redirect.prefix;
    const { path } = exchange.request;
    const { status, location } = redirectTarget(
      exchange.request,
      this.#redirect,
      exchange.scheme,
      prefix === undefined ? undefined : rewriteTarget(exchange.rule!, path, path, prefix),
    );
    return { status, fields: ['location', location] };
  }
}
