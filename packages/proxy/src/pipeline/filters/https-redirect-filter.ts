import type { RedirectConfig } from '@portico/config';
import { redirectTarget } from '../../http/redirect.ts';
import type { Filter, FilterExchange } from '../filter.ts';
import type { LocalReply } from '../local-reply.ts';

/**
 * HttpsRedirectFilter sends requests that came over plain HTTP to the same host and path over HTTPS
 * (`routes[].httpsRedirect`, or a listener's `httpsRedirect`), on the port `toHttps` names. Requests for
 * `ACME_CHALLENGE_PATH` pass when `exceptAcme` is set, so HTTP-01 certificate challenges still work.
 */
export class HttpsRedirectFilter implements Filter {
  readonly name = 'https-redirect';
  readonly #toHttps: RedirectConfig;
  readonly #exceptAcme: boolean;

  constructor(toHttps: RedirectConfig, exceptAcme = false) {
    this.#toHttps = toHttps;
    this.#exceptAcme = exceptAcme;
  }

  request(exchange: FilterExchange): LocalReply | undefined {
    if (exchange.scheme === 'https') return undefined;
    if (this.#exceptAcme && exchange.request.path.startsWith(ACME_CHALLENGE_PATH)) return undefined;
    const { status, location } = redirectTarget(exchange.request, this.#toHttps, 'http');
    return { status, fields: ['location', location] };
  }
}

/** ACME_CHALLENGE_PATH is where HTTP-01 certificate challenges are served (RFC 8555 8.3). */
export const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';
