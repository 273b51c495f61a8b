import type { AffinityConfig } from '@portico/config';
import type { LRUCache } from 'lru-cache';
import { TrafficStats } from '../traffic-stats.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { createAffinityTable } from './affinity.ts';

/**
 * ServiceState is what a service keeps across config changes: requests and retries in flight (for
 * `maxPendingRequests` and the retry budget) and its affinity pins.
 */
export class ServiceState {
  readonly name: string;
  /** active counts requests in flight to the service. */
  active = 0;
  /** retries counts retries in flight; retriesTotal counts every retry made. */
  retries = 0;
  retriesTotal = 0;
  /** stats are the service's response counts and latencies (time to first upstream byte too). */
  readonly stats = new TrafficStats();
  #table: LRUCache<string, EndpointState> | undefined;
  #tableShape = '';

  constructor(name: string) {
    this.name = name;
  }

  /** affinityTable returns the pin table, made anew only when the affinity settings change. */
  affinityTable(config: AffinityConfig): LRUCache<string, EndpointState> {
    const shape = `${config.type}|${config.headerName}|${config.maxEntries}|${config.ttlSeconds}`;
    if (this.#table === undefined || shape !== this.#tableShape) {
      this.#table = createAffinityTable(config);
      this.#tableShape = shape;
    }
    return this.#table;
  }
}

/** ServiceRegistry keeps one `ServiceState` per service name. */
export class ServiceRegistry {
  readonly #states = new Map<string, ServiceState>();

  get(name: string): ServiceState {
    let state = this.#states.get(name);
    if (!state) {
      state = new ServiceState(name);
      this.#states.set(name, state);
    }
    return state;
  }

  /** delete forgets a service the config no longer names. */
  delete(name: string): void {
    this.#states.delete(name);
  }

  /** retainOnly forgets the services no config names. */
  retainOnly(names: ReadonlySet<string>): void {
    for (const name of this.#states.keys()) if (!names.has(name)) this.#states.delete(name);
  }
}
