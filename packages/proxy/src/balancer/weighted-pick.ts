import type { EndpointState } from '../upstream/endpoint-state.ts';
import type { Member } from './selector.ts';

/**
 * WeightedPick draws endpoints at random in proportion to their weights: cumulative weights and a binary
 * search, O(log n) per draw. Random, least-request and EWMA build on it.
 */
export class WeightedPick {
  readonly endpoints: EndpointState[];
  readonly weights: Float64Array;
  readonly #cumulative: Float64Array;
  readonly #total: number;

  constructor(members: readonly Member[]) {
    this.endpoints = members.map((m) => m.endpoint);
    this.weights = Float64Array.from(members, (m) => m.weight);
    this.#cumulative = new Float64Array(members.length);
    let sum = 0;
    for (let i = 0; i < members.length; i++) {
      sum += members[i]!.weight;
      this.#cumulative[i] = sum;
    }
    this.#total = sum;
  }

  get size(): number {
    return this.endpoints.length;
  }

  /** draw returns the index of a random endpoint, weighted. */
  draw(): number {
    const target = Math.random() * this.#total;
    const c = this.#cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
