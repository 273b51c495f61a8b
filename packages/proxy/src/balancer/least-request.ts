import type { EndpointState } from '../upstream/endpoint-state.ts';
import { drawUsable } from './random-selector.ts';
import { type Available, type Member, type Selector, usable } from './selector.ts';
import { WeightedPick } from './weighted-pick.ts';

/**
 * Cost says how loaded an endpoint is for power-of-two-choices: lower is better. `weight` divides it, so
 * an endpoint with twice the weight may carry twice the load.
 */
type Cost = (endpoint: EndpointState, weight: number) => number;

/**
 * PowerOfTwoChoices draws two endpoints at random (weighted) and takes the one with the lower cost: near
 * optimal balance at O(1) per pick, without the herd behaviour of always taking the global minimum.
 */
export class PowerOfTwoChoices implements Selector {
  readonly #pick: WeightedPick;
  readonly #cost: Cost;

  constructor(members: readonly Member[], cost: Cost) {
    this.#pick = new WeightedPick(members);
    this.#cost = cost;
  }

  select(
    _key: string | undefined,
    exclude: readonly EndpointState[],
    available: Available,
  ): EndpointState | undefined {
    const pick = this.#pick;
    if (pick.size < 2) return drawUsable(pick, exclude, available);
    const a = pick.draw();
    let b = pick.draw();
    if (b === a) b = (a + 1) % pick.size;
    const ea = pick.endpoints[a]!;
    const eb = pick.endpoints[b]!;
    const okA = usable(ea, exclude, available);
    const okB = usable(eb, exclude, available);
    if (okA && okB) return this.#cost(ea, pick.weights[a]!) <= this.#cost(eb, pick.weights[b]!) ? ea : eb;
    if (okA) return ea;
    if (okB) return eb;
    return drawUsable(pick, exclude, available);
  }
}

/** leastRequest is P2C over requests in flight per unit of weight. */
export function leastRequest(members: readonly Member[]): PowerOfTwoChoices {
  return new PowerOfTwoChoices(members, (endpoint, weight) => endpoint.active / weight);
}

/**
 * peakEwma is P2C over peak-EWMA time to first byte times (requests in flight + 1), per unit of weight,
 * as Finagle and linkerd do: fast endpoints get more, a slow or overloaded one quickly gets less. An
 * endpoint with no sample yet costs as little as the fastest, so it is tried.
 */
export function peakEwma(members: readonly Member[]): PowerOfTwoChoices {
  return new PowerOfTwoChoices(
    members,
    (endpoint, weight) => ((endpoint.ewmaMs + 0.001) * (endpoint.active + 1)) / weight,
  );
}
