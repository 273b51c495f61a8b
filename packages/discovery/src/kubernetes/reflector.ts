import { setTimeout as delay } from 'node:timers/promises';
import type { KubeApiError, KubeClient } from './kube-client.ts';
import { type KubeObject, keyOf } from './kube-objects.ts';

/** ResourcePath names a collection: `/apis/networking.k8s.io/v1` + `ingresses`, in a namespace or all. */
export interface ResourcePath {
  /** kind is the object kind, for logs and metrics (`Ingress`). */
  readonly kind: string;
  /** prefix is the group-version path: `/api/v1` or `/apis/<group>/<version>`. */
  readonly prefix: string;
  readonly plural: string;
  /** namespace limits the collection to one namespace; undefined: all (or a cluster-scoped kind). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** collectionPath is the URL path of a collection. */
export function collectionPath(resource: ResourcePath): string {
  const ns = resource.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(resource.namespace)}`;
  return `${resource.prefix}${ns}/${resource.plural}`;
}

/** WatchOptions tune the list-and-watch loop; the defaults follow client-go's reflector. */
export interface WatchOptions {
  /** pageSize is the `limit` of each list page: 500 by default. */
  readonly pageSize: number;
  /** backoffInitialMs is the first retry delay after a failure: 250 ms by default. */
  readonly backoffInitialMs: number;
  /**
   * backoffMaxMs caps the delay, which doubles with each failure in a row (plus up to 100% jitter, within
   * the cap): 1.5 s by default, so that routes converge within 2 s of an API server healing. client-go
   * waits up to 30 s; raise it for very large fleets of instances.
   */
  readonly backoffMaxMs: number;
  /** healthyWatchMs: a watch that lived this long (or delivered an event) resets the backoff: 10 s by default. */
  readonly healthyWatchMs: number;
  /** watchIdleTimeoutMs recycles a watch that sent no byte (not even a bookmark) for this long: 5 min by default. */
  readonly watchIdleTimeoutMs: number;
  /** watchTimeoutSeconds asks the server to end each watch after a random 1x-2x this: 300 s by default. */
  readonly watchTimeoutSeconds: number;
}

/** DEFAULT_WATCH_OPTIONS are client-go's reflector settings, but for a shorter backoff. */
export const DEFAULT_WATCH_OPTIONS: WatchOptions = {
  pageSize: 500,
  backoffInitialMs: 250,
  backoffMaxMs: 1_500,
  healthyWatchMs: 10_000,
  watchIdleTimeoutMs: 300_000,
  watchTimeoutSeconds: 300,
};

/** ReflectorStats are a reflector's counters, for the admin API and metrics. */
export interface ReflectorStats {
  lists: number;
  listPages: number;
  watches: number;
  relists: number;
  events: number;
  failures: number;
  /** watchdogRecycles counts watches closed for silence. */
  watchdogRecycles: number;
  lastError: string | undefined;
  resourceVersion: string;
}

/** ReflectorEvent is what a reflector tells its owner: the store changed (and when the news arrived). */
export interface ReflectorHooks<T> {
  /**
   * onChange is called after the store changed, with the object an event changed (undefined after a
   * list replaced the whole store); `receivedAt` is `performance.now()` when the news came.
   */
  onChange(receivedAt: number, changed?: T): void;
  onError?(error: Error, resource: ResourcePath): void;
  /** transform trims an object as it arrives; it may drop it by returning undefined. */
  transform(object: T): T | undefined;
}

class Gone extends Error {}
class Silent extends Error {}

/**
 * Reflector keeps a local copy of one collection with client-go's list-and-watch semantics: a paged list
 * (restarted whole if its `continue` token expires), then a watch from the list's resourceVersion with
 * bookmarks; `410 Gone` (as a status or an in-stream ERROR event) relists; any other failure or a short
 * clean close rewatches after a jittered exponential backoff; a watch silent for longer than
 * `watchIdleTimeoutMs` is recycled.
 */
export class Reflector<T extends KubeObject> {
  readonly resource: ResourcePath;
  readonly store = new Map<string, T>();
  readonly stats: ReflectorStats = {
    lists: 0,
    listPages: 0,
    watches: 0,
    relists: 0,
    events: 0,
    failures: 0,
    watchdogRecycles: 0,
    lastError: undefined,
    resourceVersion: '',
  };
  /** synced is true once the first list has completed. */
  synced = false;
  readonly #client: KubeClient;
  readonly #options: WatchOptions;
  readonly #hooks: ReflectorHooks<T>;
  readonly #stop = new AbortController();
  #failuresInRow = 0;
  #loop: Promise<void> | undefined;
  #syncedWaiters: (() => void)[] = [];

  constructor(client: KubeClient, resource: ResourcePath, hooks: ReflectorHooks<T>, options: WatchOptions) {
    this.#client = client;
    this.resource = resource;
    this.#hooks = hooks;
    this.#options = options;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** whenSynced resolves after the first complete list (or when the reflector is stopped). */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    for (const resolve of this.#syncedWaiters.splice(0)) resolve();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let needList = true;
    while (!this.#stop.signal.aborted) {
      try {
        if (needList) {
          await this.#list();
          needList = false;
        }
        const started = performance.now();
        const delivered = await this.#watch();
        // A clean close: the server's timeout, or a proxy in between. Rewatch at once if it was a
        // healthy watch; a server that keeps closing at once gets the backoff.
        if (delivered || performance.now() - started >= this.#options.healthyWatchMs) this.#failuresInRow = 0;
        else this.#failuresInRow++;
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        if (error instanceof Gone || (error as KubeApiError).status === 410) {
          this.stats.relists++;
          needList = true;
        }
        if (error instanceof Silent) this.stats.watchdogRecycles++;
        this.stats.failures++;
        this.stats.lastError = (error as Error).message;
        this.#failuresInRow++;
        this.#hooks.onError?.(error as Error, this.resource);
      }
      await this.#sleep(this.#backoffMs());
    }
  }

  /** backoffMs is 0 after success, else initial x 2^(n-1) capped, with up to 100% jitter added. */
  #backoffMs(): number {
    if (this.#failuresInRow === 0) return 0;
    const { backoffInitialMs, backoffMaxMs } = this.#options;
    const base = Math.min(backoffMaxMs, backoffInitialMs * 2 ** Math.min(this.#failuresInRow - 1, 30));
    return Math.min(backoffMaxMs, base * (1 + Math.random()));
  }

  /** #sleep waits `ms`, or less if the reflector is stopped meanwhile. */
  async #sleep(ms: number): Promise<void> {
    if (ms === 0 || this.#stop.signal.aborted) return;
    await delay(ms, undefined, { signal: this.#stop.signal }).catch(() => {});
  }

  /** list reads the whole collection page by page and replaces the store with it. */
  async #list(): Promise<void> {
    this.stats.lists++;
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let paged = true;
    let resourceVersion = '';
    for (;;) {
      let page: { metadata?: { resourceVersion?: string; continue?: string }; items?: T[] };
      try {
        page = await this.#client.json({
          path: collectionPath(this.resource),
          query: {
            limit: paged ? this.#options.pageSize : undefined,
            continue: cont,
            labelSelector: this.resource.labelSelector,
            fieldSelector: this.resource.fieldSelector,
          },
          signal: this.#stop.signal,
        });
      } catch (error) {
        // An expired continue token: start over, in one unpaged list (client-go's fallback).
        if (cont !== undefined && (error as KubeApiError).status === 410) {
          fresh.clear();
          cont = undefined;
          paged = false;
          continue;
        }
        throw error;
      }
      this.stats.listPages++;
      for (const item of page.items ?? []) {
        const kept = this.#hooks.transform(item);
        if (kept !== undefined) fresh.set(keyOf(kept), kept);
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue || undefined;
      if (cont === undefined) break;
    }
    const receivedAt = performance.now();
    this.store.clear();
    for (const [key, value] of fresh) this.store.set(key, value);
    this.stats.resourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.#syncedWaiters.splice(0)) resolve();
    }
    this.#hooks.onChange(receivedAt);
  }

  /**
   * watch follows the collection from the store's resourceVersion until the server closes the stream
   * (returns whether any event came), or throws: `Gone` for 410, `Silent` when the watchdog fired.
   */
  async #watch(): Promise<boolean> {
    this.stats.watches++;
    const abort = new AbortController();
    const onStop = () => abort.abort();
    this.#stop.signal.addEventListener('abort', onStop);
    let silent = false;
    const idleMs = this.#options.watchIdleTimeoutMs;
    let watchdog = setTimeout(fire, idleMs);
    function fire() {
      silent = true;
      abort.abort();
    }
    const timeoutSeconds = Math.round(this.#options.watchTimeoutSeconds * (1 + Math.random()));
    let delivered = false;
    try {
      const { body } = await this.#client.stream({
        path: collectionPath(this.resource),
        query: {
          watch: 1,
          resourceVersion: this.stats.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.resource.labelSelector,
          fieldSelector: this.resource.fieldSelector,
        },
        signal: abort.signal,
      });
      let pending = '';
      for await (const chunk of body) {
        clearTimeout(watchdog);
        watchdog = setTimeout(fire, idleMs);
        pending += (chunk as Buffer).toString('utf8');
        let newline = pending.indexOf('\n');
        while (newline !== -1) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line !== '' && this.#onEvent(line)) delivered = true;
          newline = pending.indexOf('\n');
        }
      }
      return delivered;
    } catch (error) {
      if (silent) throw new Silent(`${this.resource.kind} watch silent for ${idleMs} ms: recycled`);
      throw error;
    } finally {
      clearTimeout(watchdog);
      this.#stop.signal.removeEventListener('abort', onStop);
      abort.abort();
    }
  }

  /** onEvent applies one watch event; true when the store changed. */
  #onEvent(line: string): boolean {
    const receivedAt = performance.now();
    let event: { type?: string; object?: T & { code?: number; message?: string } };
    try {
      event = JSON.parse(line);
    } catch {
      throw new Error(`${this.resource.kind} watch: a line is not JSON: ${line.slice(0, 120)}`);
    }
    const object = event.object;
    if (object === undefined) return false;
    if (event.type === 'ERROR') {
      if (object.code === 410)
        throw new Gone(`${this.resource.kind} watch: 410 Gone (${object.message ?? ''})`);
      throw new Error(`${this.resource.kind} watch error: ${object.code ?? ''} ${object.message ?? ''}`);
    }
    const rv = object.metadata?.resourceVersion;
    if (rv !== undefined) this.stats.resourceVersion = rv;
    if (event.type === 'BOOKMARK') return false;
    this.stats.events++;
    if (event.type === 'DELETED') {
      this.store.delete(keyOf(object));
    } else if (event.type === 'ADDED' || event.type === 'MODIFIED') {
      const kept = this.#hooks.transform(object);
      if (kept === undefined) this.store.delete(keyOf(object));
      else this.store.set(keyOf(kept), kept);
    } else {
      return false;
    }
    this.#hooks.onChange(receivedAt, object);
    return true;
  }
}
