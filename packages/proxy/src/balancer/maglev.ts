import { hash as digest } from 'node:crypto';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import type { BoundedLoads } from './bounded-loads.ts';
import { fastHash } from './hash.ts';
import { walk } from './ring-hash.ts';
import type { Available, Member, Selector } from './selector.ts';

/**
 * Maglev is Google's consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of a prime size M
 * (65537 by default) filled from each endpoint's permutation (offset and skip from two hashes of
 * `address:port`), weighted by giving heavier endpoints more turns. A pick is one table lookup; adding
 * one endpoint to ten moves about 1/11 of keys. Unusable or over-bound entries are skipped by walking on.
 */
export class Maglev implements Selector {
  readonly #table: EndpointState[];
  readonly #bounded: BoundedLoads;
  readonly #distinct: number;

  constructor(members: readonly Member[], bounded: BoundedLoads, tableSize: number) {
    this.#bounded = bounded;
    this.#distinct = members.length;
    this.#table = members.length === 0 ? [] : populate(members, tableSize);
  }

  select(
    key: string | undefined,
    exclude: readonly EndpointState[],
    available: Available,
  ): EndpointState | undefined {
    const table = this.#table;
    if (table.length === 0 || key === undefined) return undefined;
    return walk(table, fastHash(key) % table.length, this.#distinct, this.#bounded, exclude, available);
  }
}

function populate(members: readonly Member[], size: number): EndpointState[] {
  const n = members.length;
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = digest('md5', members[i]!.endpoint.key, 'buffer');
    offset[i] = d.readUInt32LE(0) % size;
    skip[i] = (d.readUInt32LE(4) % (size - 1)) + 1;
  }
  const maxWeight = Math.max(...members.map((m) => m.weight));
  const next = new Float64Array(n);
  const count = new Float64Array(n);
  const slots = new Int32Array(size).fill(-1);
  let filled = 0;
  for (let iteration = 1; filled < size; iteration++) {
    for (let i = 0; i < n && filled < size; i++) {
      if (count[i]! * maxWeight >= iteration * members[i]!.weight) continue; // lighter endpoints take fewer turns
      let c = (offset[i]! + next[i]! * skip[i]!) % size;
      while (slots[c]! >= 0) {
        next[i]!++;
        c = (offset[i]! + next[i]! * skip[i]!) % size;
      }
      slots[c] = i;
      next[i]!++;
      count[i]!++;
      filled++;
    }
  }
  return Array.from(slots, (i) => members[i]!.endpoint);
}
