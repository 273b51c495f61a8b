/**
 * WeightedBackends splits a route path's requests between services (by name) by weight (`paths[].backends`:
 * canary and N-way splits) with smooth weighted round robin, so every window of `sum(weights)` requests gives each
 * service exactly its share, interleaved (nginx's algorithm). A weight of 0 sends nothing; when every
 * weight is 0 `pick` returns undefined. An `unresolved` backend is picked as the empty name.
 */
export class WeightedBackends {
  readonly services: readonly string[];
  readonly weights: readonly number[];
  readonly #current: number[];
  readonly #total: number;

  constructor(
    backends: readonly { readonly service: string; readonly weight: number; readonly unresolved?: boolean }[],
  ) {
    // An unresolved backend is the empty name, which no service has: its share is answered 500.
    this.services = backends.map((b) => (b.unresolved === true ? '' : b.service));
    this.weights = backends.map((b) => b.weight);
    this.#current = backends.map(() => 0);
    this.#total = this.weights.reduce((a, b) => a + b, 0);
  }

  /** pick returns the name of the service for the next request. */
  pick(): string | undefined {
    if (this.#total === 0) return undefined;
    const current = this.#current;
    let best = -1;
    for (let i = 0; i < current.length; i++) {
      current[i]! += this.weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= this.#total;
    return this.services[best];
  }
}
