import type { Filter, FilterExchange } from '../filter.ts';

/**
 * BodyLimitFilter sets the largest request body its route accepts (`routes[].maxBodyBytes`, 0 for no
 * limit) in place of `limits.maxBodyBytes`. The codec enforces it: on the declared length before anything
 * is sent upstream (413), and on the bytes counted while the body streams.
 */
export class BodyLimitFilter implements Filter {
  readonly name = 'body-limit';
  readonly #maxBodyBytes: number;

  constructor(maxBodyBytes: number) {
    this.#maxBodyBytes = maxBodyBytes;
  }

  request(exchange: FilterExchange): undefined {
    exchange.maxBodyBytes = this.#maxBodyBytes;
    return undefined;
  }
}
