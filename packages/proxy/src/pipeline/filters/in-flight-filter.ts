import type { InFlightConfig } from '@portico/config';
import type { Filter, FilterExchange } from '../filter.ts';
import type { LocalReply } from '../local-reply.ts';

/**
 * InFlightFilter bounds a route's requests in flight (`routes[].inFlight`): on the route as a whole
 * (`max`) and per client address as Portico trusts it (`maxPerClient`, ingress-nginx's
 * limit-connections). A request beyond a limit gets the configured status (503 by default) and goes
 * nowhere; one let through is counted until its exchange ends, whatever the outcome. The per-client
 * table holds only clients with requests in flight, so it never outgrows the traffic.
 */
export class InFlightFilter implements Filter {
  readonly name = 'in-flight';
  readonly #max: number;
  readonly #maxPerClient: number;
  readonly #refusal: LocalReply;
  #total = 0;
  readonly #perClient = new Map<string, number>();

  constructor(limit: InFlightConfig) {
    this.#max = limit.max ?? Number.POSITIVE_INFINITY;
    this.#maxPerClient = limit.maxPerClient ?? Number.POSITIVE_INFINITY;
    this.#refusal = {
      status: limit.status,
      fields: ['retry-after', '1', 'content-type', 'text/plain; charset=utf-8'],
      body: 'too many requests in flight\n',
      refusal: 'rate-limited',
    };
  }

  request(exchange: FilterExchange): LocalReply | undefined {
    if (this.#total >= this.#max) return this.#refusal;
    if (this.#maxPerClient !== Number.POSITIVE_INFINITY) {
      const client = exchange.clientAddress();
      const mine = this.#perClient.get(client) ?? 0;
      if (mine >= this.#maxPerClient) return this.#refusal;
      this.#perClient.set(client, mine + 1);
    }
    this.#total++;
    return undefined;
  }

  done(exchange: FilterExchange): void {
    this.#total--;
    if (this.#maxPerClient === Number.POSITIVE_INFINITY) return;
    const client = exchange.clientAddress();
    const mine = (this.#perClient.get(client) ?? 1) - 1;
    if (mine <= 0) this.#perClient.delete(client);
    else this.#perClient.set(client, mine);
  }

  /** inFlight is the requests in flight now, and the clients that have some. */
  get inFlight(): { readonly total: number; readonly clients: number } {
    return { total: this.#total, clients: this.#perClient.size };
  }
}
