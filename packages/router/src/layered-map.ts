/** REMOVED marks, in an overlay, a key the base has but the map no longer does. */
const REMOVED: unique symbol = Symbol('removed');
type Overlaid<V> = V | typeof REMOVED;

/** MIN_OVERLAY is the overlay size below which a map is never compacted. */
const MIN_OVERLAY = 16;

/**
 * LayeredMap is an immutable map from which a changed copy is made in time proportional to the change,
 * not to its size: a copy shares the base map and carries the changes in a small overlay. When the
 * overlay outgrows the square root of the base (and 16 entries), the copy is compacted into a new base,
 * so n changes to a map of m entries cost O(n·√m) in all, and a lookup is at most two `Map` lookups.
 * Iteration follows the base's order (a key removed and set again keeps its place), then the keys
 * added since. Build one with `LayeredMap.from`.
 */
export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  readonly #overlay: ReadonlyMap<K, Overlaid<V>>;
  readonly size: number;

  private constructor(base: ReadonlyMap<K, V>, overlay: ReadonlyMap<K, Overlaid<V>>, size: number) {
    this.#base = base;
    this.#overlay = overlay;
    this.size = size;
  }

  /** from builds a map holding `entries` (a later entry for a key wins, as with `Map`). */
  static from<K, V>(entries: Iterable<readonly [K, V]> = []): LayeredMap<K, V> {
    const base = new Map(entries);
    return new LayeredMap(base, new Map(), base.size);
  }

  get(key: K): V | undefined {
    if (this.#overlay.size > 0) {
      const changed = this.#overlay.get(key);
      if (changed !== undefined) return changed === REMOVED ? undefined : changed;
    }
    return this.#base.get(key);
  }

  has(key: K): boolean {
    if (this.#overlay.size > 0) {
      const changed = this.#overlay.get(key);
      if (changed !== undefined) return changed !== REMOVED;
    }
    return this.#base.has(key);
  }

  /**
   * with returns a map with `changes` made: each sets its key to the value, or removes the key when the
   * value is undefined. This map is left as it was.
   */
  with(changes: Iterable<readonly [K, V | undefined]>): LayeredMap<K, V> {
    const overlay = new Map(this.#overlay);
    let size = this.size;
    for (const [key, value] of changes) {
      const had = this.#has(overlay, key);
      if (value === undefined) {
        if (!had) continue;
        if (this.#base.has(key)) overlay.set(key, REMOVED);
        else overlay.delete(key);
        size--;
      } else {
        overlay.set(key, value);
        if (!had) size++;
      }
    }
    if (overlay.size <= Math.max(MIN_OVERLAY, Math.sqrt(this.#base.size)))
      return new LayeredMap(this.#base, overlay, size);
    return LayeredMap.from(merged(this.#base, overlay));
  }

  #has(overlay: ReadonlyMap<K, Overlaid<V>>, key: K): boolean {
    const changed = overlay.get(key);
    return changed === undefined ? this.#base.has(key) : changed !== REMOVED;
  }

  *entries(): MapIterator<[K, V]> {
    yield* merged(this.#base, this.#overlay);
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}

/** merged lists a base with an overlay's changes: the base's keys in order, then those added. */
function* merged<K, V>(
  base: ReadonlyMap<K, V>,
  overlay: ReadonlyMap<K, Overlaid<V>>,
): Generator<[K, V], undefined, unknown> {
  if (overlay.size === 0) {
    yield* base;
    return;
  }
  for (const [key, value] of base) {
    const changed = overlay.get(key);
    if (changed === undefined) yield [key, value];
    else if (changed !== REMOVED) yield [key, changed];
  }
  for (const [key, value] of overlay) if (value !== REMOVED && !base.has(key)) yield [key, value];
}
