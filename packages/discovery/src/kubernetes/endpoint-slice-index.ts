import { type EndpointSlice, keyOf, SERVICE_NAME_LABEL } from './kube-objects.ts';
import { type ObjectStore, slicesByService } from './translate.ts';

/**
 * EndpointSliceIndex finds a Service's EndpointSlices without a walk over all of them: it is told of each
 * slice a watch event changed (`changed`) and moves that one slice, and rebuilds itself from the store
 * only after a relist (`invalidate`). At 20,000 slices a rebuild costs milliseconds, a move microseconds.
 */
export class EndpointSliceIndex {
  readonly #store: ObjectStore<EndpointSlice>;
  /** #byService maps `namespace/service` to its slices by `namespace/name`; undefined until first read. */
  #byService: Map<string, Map<string, EndpointSlice>> | undefined;
  /** #owners maps a slice (`namespace/name`) to the Service it was filed under. */
  readonly #owners = new Map<string, string>();

  constructor(store: ObjectStore<EndpointSlice>) {
    this.#store = store;
  }

  /** slicesOf returns the EndpointSlices of a Service (`namespace/name`). */
  slicesOf(service: string): readonly EndpointSlice[] {
    if (this.#byService === undefined) this.#rebuild();
    const slices = this.#byService!.get(service);
    return slices === undefined ? [] : [...slices.values()];
  }

  /**
   * changed files a slice an event added, modified or deleted (the store already says which), and
   * returns the Service it was filed under before, if any.
   */
  changed(slice: EndpointSlice): string | undefined {
    if (this.#byService === undefined) return undefined;
    const key = keyOf(slice);
    const before = this.#owners.get(key);
    if (before !== undefined) {
      this.#byService.get(before)?.delete(key);
      this.#owners.delete(key);
    }
    const current = this.#store.get(key);
    const owner = current?.metadata.labels?.[SERVICE_NAME_LABEL];
    if (current !== undefined && owner !== undefined)
      this.#file(key, `${current.metadata.namespace}/${owner}`, current);
    return before;
  }

  /** invalidate makes the next read rebuild the index from the store (after a relist). */
  invalidate(): void {
    this.#byService = undefined;
    this.#owners.clear();
  }

  #rebuild(): void {
    this.#byService = new Map();
    for (const [service, slices] of slicesByService(this.#store.values()))
      for (const slice of slices) this.#file(keyOf(slice), service, slice);
  }

  #file(key: string, service: string, slice: EndpointSlice): void {
    let slices = this.#byService!.get(service);
    if (slices === undefined) {
      slices = new Map();
      this.#byService!.set(service, slices);
    }
    slices.set(key, slice);
    this.#owners.set(key, service);
  }
}
