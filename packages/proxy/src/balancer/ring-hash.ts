import type { EndpointState } from '../upstream/endpoint-state.ts';
import { BoundedLoads } from './bounded-loads.ts';
import { ketamaHash, ketamaPoints } from './hash.ts';
import type { Available, Member, Selector } from './selector.ts';
import { usable } from './selector.ts';

/** POINTS_PER_WEIGHT is libketama's 40 digests (160 points) per server of average weight. */
const DIGESTS_PER_SERVER = 40;

/**
 * RingHash is a ketama ring: each endpoint `address:port` of weight w gets floor(w / total x 40 x n) MD5
 * digests of `address:port-k`, four points each; a key goes to the first point at or after its MD5
 * hash. Adding one endpoint to ten moves about 1/11 of keys. With bounded loads, a key skips endpoints
 * over the bound; unusable endpoints are skipped the same way. O(log points) per pick.
 */
export class RingHash implements Selector {
  readonly #points: Uint32Array;
  readonly #owners: EndpointState[];
  readonly #bounded: BoundedLoads;
  readonly #distinct: number;

  constructor(members: readonly Member[], bounded: BoundedLoads) {
    this.#bounded = bounded;
    this.#distinct = members.length;
    const total = members.reduce((sum, m) => sum + m.weight, 0);
    const entries: [number, EndpointState][] = [];
    for (const member of members) {
      const digests = Math.max(1, Math.floor((member.weight / total) * DIGESTS_PER_SERVER * members.length));
      for (let k = 0; k < digests; k++) {
        for (const point of ketamaPoints(`${member.endpoint.key}-${k}`))
          entries.push([point, member.endpoint]);
      }
    }
    entries.sort((a, b) => a[0] - b[0]);
    this.#points = Uint32Array.from(entries, (e) => e[0]);
    this.#owners = entries.map((e) => e[1]);
  }

  select(
    key: string | undefined,
    exclude: readonly EndpointState[],
    available: Available,
  ): EndpointState | undefined {
    const points = this.#points;
    const n = points.length;
    if (n === 0 || key === undefined) return undefined;
    const hash = ketamaHash(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return walk(this.#owners, lo === n ? 0 : lo, this.#distinct, this.#bounded, exclude, available);
  }
}

/**
 * walk goes clockwise from `start` and returns the first usable owner under the load bound; if every
 * usable owner is over the bound, the first usable one. It stops after visiting every distinct owner.
 */
export function walk(
  owners: readonly EndpointState[],
  start: number,
  distinct: number,
  bounded: BoundedLoads,
  exclude: readonly EndpointState[],
  available: Available,
): EndpointState | undefined {
  const bound = bounded.bound();
  const n = owners.length;
  let firstUsable: EndpointState | undefined;
  let seen: Set<EndpointState> | undefined;
  for (let i = 0; i < n; i++) {
    const owner = owners[(start + i) % n]!;
    if (usable(owner, exclude, available)) {
      if (BoundedLoads.accepts(owner, bound)) return owner;
      firstUsable ??= owner;
    }
    if (i >= 8) {
      seen ??= new Set();
      seen.add(owner);
      if (seen.size >= distinct) break;
    }
  }
  return firstUsable;
}
