import type { EndpointState } from '../upstream/endpoint-state.ts';
import { type Available, type Member, type Selector, usable } from './selector.ts';

/**
 * RoundRobin rotates through a service's endpoints in proportion to their weights, smoothly (weights
 * 5,1,1 give a a b a c a a, never a burst of five). Equal weights are a plain rotation, O(1) per pick;
 * unequal weights use an earliest-deadline-first schedule (each endpoint is due again 1/weight after it
 * was picked), O(log n) per pick, as Envoy's weighted round robin.
 */
export class RoundRobin implements Selector {
  readonly #endpoints: EndpointState[];
  readonly #weights: Float64Array;
  readonly #equal: boolean;
  #next = 0;
  /** The EDF heap: indexes into #endpoints ordered by #deadline. */
  readonly #heap: Int32Array;
  readonly #deadline: Float64Array;
  /** #order breaks deadline ties by insertion, so equal deadlines keep a stable rotation. */
  readonly #order: Float64Array;
  #sequence = 0;

  constructor(members: readonly Member[]) {
    const n = members.length;
    this.#endpoints = members.map((m) => m.endpoint);
    this.#weights = Float64Array.from(members, (m) => m.weight);
    this.#equal = members.every((m) => m.weight === members[0]?.weight);
    this.#heap = new Int32Array(n);
    this.#deadline = new Float64Array(n);
    this.#order = new Float64Array(n);
    // Start offset by half a period, so the heaviest endpoint goes first and lighter ones interleave.
    for (let i = 0; i < n; i++) {
      this.#deadline[i] = 0.5 / this.#weights[i]!;
      this.#order[i] = this.#sequence++;
      this.#heap[i] = i;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.#down(i);
    if (n > 0) this.#next = Math.floor(Math.random() * n); // instances do not all start on endpoint 0
  }

  select(
    _key: string | undefined,
    exclude: readonly EndpointState[],
    available: Available,
  ): EndpointState | undefined {
    const n = this.#endpoints.length;
    if (n === 0) return undefined;
    if (this.#equal) {
      for (let tries = 0; tries < n; tries++) {
        const endpoint = this.#endpoints[this.#next]!;
        this.#next = this.#next + 1 === n ? 0 : this.#next + 1;
        if (usable(endpoint, exclude, available)) return endpoint;
      }
      return undefined;
    }
    for (let tries = 0; tries < n; tries++) {
      const i = this.#heap[0]!;
      this.#deadline[i]! += 1 / this.#weights[i]!;
      this.#order[i] = this.#sequence++;
      this.#down(0);
      const endpoint = this.#endpoints[i]!;
      if (usable(endpoint, exclude, available)) return endpoint;
    }
    return undefined;
  }

  #less(a: number, b: number): boolean {
    const da = this.#deadline[a]!;
    const db = this.#deadline[b]!;
    return da < db || (da === db && this.#order[a]! < this.#order[b]!);
  }

  #down(at: number): void {
    const heap = this.#heap;
    const n = heap.length;
    let i = at;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      let child = left;
      if (right < n && this.#less(heap[right]!, heap[left]!)) child = right;
      if (!this.#less(heap[child]!, heap[i]!)) return;
      const swap = heap[i]!;
      heap[i] = heap[child]!;
      heap[child] = swap;
      i = child;
    }
  }
}
