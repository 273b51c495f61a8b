import type { EndpointState } from '../upstream/endpoint-state.ts';
import type { Selector, WeightedEndpoint } from './selector.ts';

/**
 * RoundRobin is smooth weighted round robin, as nginx does it: each pick adds every endpoint's weight to
 * its current score, takes the highest, and subtracts the total from it. Weights 5,1,1 give
 * a a b a c a a, never a burst of five. Equal weights give plain rotation.
 */
export class RoundRobin implements Selector {
  readonly #endpoints: EndpointState[];
  readonly #weights: Int32Array;
  readonly #current: Int32Array;
  readonly #total: number;

  constructor(endpoints: readonly WeightedEndpoint[]) {
    this.#endpoints = endpoints.map((e) => e.endpoint);
    this.#weights = Int32Array.from(endpoints, (e) => e.weight);
    this.#current = new Int32Array(endpoints.length);
    this.#total = this.#weights.reduce((sum, w) => sum + w, 0);
  }

  select(exclude: readonly EndpointState[]): EndpointState | undefined {
    const n = this.#endpoints.length;
    if (n === 0) return undefined;
    if (n === 1)
      return exclude.length === 0 || exclude[0] !== this.#endpoints[0] ? this.#endpoints[0] : undefined;
    let best = -1;
    let total = 0;
    const current = this.#current;
    for (let i = 0; i < n; i++) {
      if (exclude.length > 0 && exclude.includes(this.#endpoints[i]!)) continue;
      current[i]! += this.#weights[i]!;
      total += this.#weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    if (best < 0) return undefined;
    current[best]! -= exclude.length === 0 ? this.#total : total;
    return this.#endpoints[best];
  }
}
