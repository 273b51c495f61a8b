import type { EndpointState } from '../upstream/endpoint-state.ts';
import { type Available, type Member, type Selector, usable } from './selector.ts';
import { WeightedPick } from './weighted-pick.ts';

/** DRAWS is how many random draws are tried before scanning for any usable endpoint. */
const DRAWS = 4;

/** RandomSelector picks an endpoint at random, weighted; O(log n) per pick. */
export class RandomSelector implements Selector {
  readonly #pick: WeightedPick;

  constructor(members: readonly Member[]) {
    this.#pick = new WeightedPick(members);
  }

  select(
    _key: string | undefined,
    exclude: readonly EndpointState[],
    available: Available,
  ): EndpointState | undefined {
    return drawUsable(this.#pick, exclude, available);
  }
}

/** drawUsable draws a few times, then scans from a random start, for a usable endpoint. */
export function drawUsable(
  pick: WeightedPick,
  exclude: readonly EndpointState[],
  available: Available,
): EndpointState | undefined {
  const n = pick.size;
  if (n === 0) return undefined;
  for (let i = 0; i < DRAWS; i++) {
    const endpoint = pick.endpoints[pick.draw()]!;
    if (usable(endpoint, exclude, available)) return endpoint;
  }
  const start = pick.draw();
  for (let i = 0; i < n; i++) {
    const endpoint = pick.endpoints[(start + i) % n]!;
    if (usable(endpoint, exclude, available)) return endpoint;
  }
  return undefined;
}
