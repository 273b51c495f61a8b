import { DEFAULT_MAGLEV_TABLE_SIZE, type ServiceConfig } from '@portico/config';
import type { AvailabilityClock } from '../upstream/availability-clock.ts';
import type { EndpointRegistry } from '../upstream/endpoint-registry.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { compileUpstreamTls } from '../upstream/upstream-tls.ts';
import { type Affinity, CookieAffinity, TableAffinity } from './affinity.ts';
import { BoundedLoads } from './bounded-loads.ts';
import { leastRequest, peakEwma } from './least-request.ts';
import { Maglev } from './maglev.ts';
import { RandomSelector } from './random-selector.ts';
import type { RequestKeys } from './request-keys.ts';
import { RingHash } from './ring-hash.ts';
import { RoundRobin } from './round-robin.ts';
import type { Available, Member, Selector } from './selector.ts';
import type { ServiceState } from './service-state.ts';

/** Choice is what the balancer decided for one attempt of a request. */
export interface Choice {
  readonly endpoint: EndpointState | undefined;
  /** setCookie pins the client (cookie affinity); add it to the response. */
  readonly setCookie: string | undefined;
}

const NO_CHOICE: Choice = { endpoint: undefined, setCookie: undefined };

/**
 * ServiceBalancer decides where a service's requests go. Built once per config change, it holds the
 * members of the best tier (ready endpoints; if none, serving-and-terminating ones, as kube-proxy does;
 * never not-ready ones), the policy's selector, affinity wrapping it, and one `available()` predicate:
 * healthy, not ejected, not disabled, under `maxConnectionsPerEndpoint`. Below `panicThresholdPercent`
 * of available members it balances over all of them (only disabled endpoints and the connection limit
 * still count), so a few survivors are not crushed.
 */
export class ServiceBalancer {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly state: ServiceState;
  readonly members: readonly Member[];
  readonly endpoints: readonly EndpointState[];
  readonly #selector: Selector;
  readonly #affinity: Affinity | undefined;
  readonly #fallback: Selector | undefined;
  readonly #available: Available;
  readonly #panicAvailable: Available;
  readonly #availability: AvailabilityClock;
  #epoch = -1;
  #panic = false;

  constructor(config: ServiceConfig, registry: EndpointRegistry, state: ServiceState) {
    this.name = config.name;
    this.config = config;
    this.state = state;
    this.#availability = registry.availability;
    const tls = config.tls === undefined ? undefined : compileUpstreamTls(config.name, config.tls);
    const all = config.endpoints.map((e) => ({
      endpoint: registry.get(config.name, e.address, e.port, tls, config.protocol === 'http2'),
      weight: e.weight,
      e,
    }));
    const ready = all.filter((m) => m.e.ready);
    const servingTerminating = all.filter((m) => !m.e.ready && (m.e.serving ?? m.e.ready) && m.e.terminating);
    this.members = (ready.length > 0 ? ready : servingTerminating).map(({ endpoint, weight }) => ({
      endpoint,
      weight,
    }));
    this.endpoints = all.map((m) => m.endpoint);
    const limit = config.maxConnectionsPerEndpoint;
    this.#available =
      limit > 0
        ? (e) => e.healthy && !e.ejected && !e.disabled && e.active < limit
        : (e) => e.healthy && !e.ejected && !e.disabled;
    this.#panicAvailable = limit > 0 ? (e) => !e.disabled && e.active < limit : (e) => !e.disabled;
    const bounded = new BoundedLoads(config.hashLoadFactor, () => state.active, this.members.length);
    this.#selector = createSelector(config, this.members, bounded);
    const hashed = config.balancer === 'ring-hash' || config.balancer === 'maglev';
    this.#fallback = hashed ? new RoundRobin(this.members) : undefined;
    const affinity = config.affinity;
    if (affinity?.type === 'cookie')
      this.#affinity = new CookieAffinity(affinity, config.name, this.endpoints);
    else if (affinity !== undefined)
      this.#affinity = new TableAffinity(affinity, state.affinityTable(affinity), this.members);
  }

  /** available is the predicate in force now (the panic one below the threshold). */
  available(): Available {
    if (this.#epoch !== this.#availability.value) {
      this.#epoch = this.#availability.value;
      const total = this.members.length;
      let up = 0;
      for (const m of this.members)
        if (m.endpoint.healthy && !m.endpoint.ejected && !m.endpoint.disabled) up++;
      this.#panic = total > 0 && up * 100 < this.config.panicThresholdPercent * total;
    }
    return this.#panic ? this.#panicAvailable : this.#available;
  }

  /** panic tells whether the service is balancing over all members because too few are available. */
  get panic(): boolean {
    this.available();
    return this.#panic;
  }

  /**
   * choose picks the endpoint for one attempt, skipping `exclude`. Hash policies take their key from
   * `keys` (no key: round robin); affinity may pin; slow start thins a new endpoint's share.
   */
  choose(keys: RequestKeys, exclude: readonly EndpointState[]): Choice {
    if (this.members.length === 0) return NO_CHOICE;
    const available = this.available();
    if (this.#affinity !== undefined) {
      return this.#affinity.pick(keys, exclude, available, (ex) => this.#pickWithPolicy(keys, ex, available));
    }
    const endpoint = this.#pickWithPolicy(keys, exclude, available);
    return endpoint === undefined ? NO_CHOICE : { endpoint, setCookie: undefined };
  }

  #pickWithPolicy(
    keys: RequestKeys,
    exclude: readonly EndpointState[],
    available: Available,
  ): EndpointState | undefined {
    const key = this.#fallback === undefined ? undefined : hashKeyOf(this.config, keys);
    let endpoint =
      this.#fallback !== undefined && key === undefined
        ? this.#fallback.select(undefined, exclude, available)
        : this.#selector.select(key, exclude, available);
    const window = this.config.slowStartMs;
    if (endpoint !== undefined && window > 0) {
      const age = Date.now() - endpoint.availableSince;
      // A warming endpoint is skipped with the probability of the share it has not earned yet.
      if (age < window && Math.random() * window > Math.max(age, window * 0.1)) {
        const other = this.#selector.select(key, [...exclude, endpoint], available);
        if (other !== undefined) endpoint = other;
      }
    }
    return endpoint;
  }

  /** mayRetry tells whether the retry budget allows one more retry now. */
  mayRetry(): boolean {
    const { budgetPercent, minConcurrency } = this.config.retries;
    return this.state.retries < Math.max(minConcurrency, (budgetPercent / 100) * this.state.active);
  }

  /** recordSuccess resets the endpoint's failure run. */
  recordSuccess(endpoint: EndpointState): void {
    endpoint.consecutiveFailures = 0;
  }

  /**
   * recordFailure counts a 5xx or a connection failure; enough in a row eject the endpoint for a time
   * that grows with each ejection, unless that would eject more than `maxEjectionPercent` of the service.
   */
  recordFailure(endpoint: EndpointState): void {
    endpoint.failures++;
    const outlier = this.config.outlierDetection;
    if (outlier.consecutiveFailures === 0 || endpoint.ejected) return;
    if (++endpoint.consecutiveFailures < outlier.consecutiveFailures) return;
    let ejected = 0;
    for (const m of this.members) if (m.endpoint.ejected) ejected++;
    if ((ejected + 1) * 100 > outlier.maxEjectionPercent * this.members.length) return;
    endpoint.ejections++;
    const ms = Math.min(outlier.baseEjectionMs * endpoint.ejections, outlier.maxEjectionMs);
    endpoint.eject(ms, `${endpoint.consecutiveFailures} failures in a row, out for ${ms} ms`);
  }
}

function createSelector(config: ServiceConfig, members: readonly Member[], bounded: BoundedLoads): Selector {
  switch (config.balancer) {
    case 'random':
      return new RandomSelector(members);
    case 'least-request':
      return leastRequest(members);
    case 'ewma':
      return peakEwma(members);
    case 'ring-hash':
      return new RingHash(members, bounded);
    case 'maglev':
      return new Maglev(members, bounded, DEFAULT_MAGLEV_TABLE_SIZE);
    default:
      return new RoundRobin(members);
  }
}

/** hashKeyOf reads a hash policy's key from the request; undefined when absent (round robin then). */
function hashKeyOf(config: ServiceConfig, keys: RequestKeys): string | undefined {
  const hashKey = config.hashKey;
  if (hashKey === undefined) return keys.clientAddress();
  switch (hashKey.source) {
    case 'source-ip':
      return keys.clientAddress();
    case 'header':
      return hashKey.name === undefined ? undefined : keys.header(hashKey.name.toLowerCase());
    case 'cookie':
      return hashKey.name === undefined ? undefined : keys.cookie(hashKey.name);
    case 'path':
      return keys.path();
    case 'query':
      return hashKey.name === undefined ? undefined : keys.query(hashKey.name);
  }
}
