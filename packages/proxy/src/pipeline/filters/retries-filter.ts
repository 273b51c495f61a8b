import type { Filter, FilterExchange } from '../filter.ts';

/**
 * RetriesFilter sets how many times its route's idempotent requests are retried on another endpoint
 * (`routes[].retries.attempts`), in place of the service's `retries.attempts`; the service's retry
 * budget still bounds retries in flight.
 */
export class RetriesFilter implements Filter {
  readonly name = 'retries';
  readonly #attempts: number;

  constructor(attempts: number) {
    this.#attempts = attempts;
  }

  request(exchange: FilterExchange): undefined {
    exchange.retryAttempts = this.#attempts;
    return undefined;
  }
}
