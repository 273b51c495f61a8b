import type { TimeoutsConfig } from '@portico/config';
import type { Filter, FilterExchange } from '../filter.ts';

/**
 * RouteTimeoutsFilter applies a route's `timeouts` (merged over the global ones when compiled) to its
 * exchanges: connect, response head, idle and client body timeouts from the request phase on.
 */
export class RouteTimeoutsFilter implements Filter {
  readonly name = 'timeouts';
  readonly #timeouts: TimeoutsConfig;

  constructor(timeouts: TimeoutsConfig) {
    this.#timeouts = timeouts;
  }

  request(exchange: FilterExchange): undefined {
    exchange.timeouts = this.#timeouts;
    return undefined;
  }
}
