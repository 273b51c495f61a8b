import type { EndpointState } from '../upstream/endpoint-state.ts';

/**
 * BoundedLoads is consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018): a key's
 * endpoint takes it only while that endpoint carries at most `factor` x the average requests in flight;
 * otherwise the key moves on along the ring. `factor` 0 turns the bound off.
 */
export class BoundedLoads {
  readonly factor: number;
  readonly #inFlight: () => number;
  readonly #members: number;

  constructor(factor: number, inFlight: () => number, members: number) {
    this.factor = factor;
    this.#inFlight = inFlight;
    this.#members = members;
  }

  /** bound is the most requests one endpoint may have in flight to take one more. */
  bound(): number {
    if (this.factor <= 0 || this.#members === 0) return Number.POSITIVE_INFINITY;
    return Math.ceil((this.factor * (this.#inFlight() + 1)) / this.#members);
  }

  /** accepts tells whether `endpoint` is under `bound`. */
  static accepts(endpoint: EndpointState, bound: number): boolean {
    return endpoint.active < bound;
  }
}
