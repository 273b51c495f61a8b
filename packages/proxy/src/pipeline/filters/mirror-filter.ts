import type { Filter, FilterExchange } from '../filter.ts';

/**
 * MirrorFilter asks for a copy of `percent`% of its route's requests to go to `service` as well
 * (`routes[].mirror`, the Gateway API's RequestMirror): fire and forget, after the request went upstream.
 * Only a request whose whole body is in hand when it is sent is copied (bodyless ones, and bodies that
 * came with the head); the copy goes to an HTTP/1.1 service.
 */
export class MirrorFilter implements Filter {
  readonly name = 'mirror';
  readonly #service: string;
  readonly #percent: number;

  constructor(service: string, percent: number) {
    this.#service = service;
    this.#percent = percent;
  }

  request(exchange: FilterExchange): undefined {
    if (this.#percent >= 100 || Math.random() * 100 < this.#percent) exchange.mirror = this.#service;
    return undefined;
  }
}
