import type { Filter, FilterExchange } from '../filter.ts';

/**
 * MirrorFilter asks for a copy of `percent`% of its route's requests to go to `service` as well
 * (`routes[].mirror`, `paths[].filters[].mirror`, the Gateway API's RequestMirror): fire and forget,
 * after the request went upstream. Only a request whose whole body is in hand when it is sent is copied
 * (bodyless ones, and bodies that came with the head); the copy goes to an HTTP/1.1 service.
 */
export class MirrorFilter implements Filter {
  readonly name = 'mirror';
  readonly #service: string;
  readonly #percent: number;

  constructor(mirror: { readonly service: string; readonly percent: number }) {
    this.#service = mirror.service;
    this.#percent = mirror.percent;
  }

  request(exchange: FilterExchange): undefined {
    if (this.#percent >= 100 || Math.random() * 100 < this.#percent) {
      if (exchange.mirrors === undefined) exchange.mirrors = [this.#service];
      else exchange.mirrors.push(this.#service);
    }
    return undefined;
  }
}
