import type { PorticoConfig } from '@portico/config';

/** WorkerSettings are what the primary decides for all its workers alike. */
export interface WorkerSettings {
  /** workers is how many workers share the instance's limits. */
  readonly workers: number;
  /** cookieSecret signs affinity cookies of services whose config gives no secret, in every worker alike. */
  readonly cookieSecret: string;
}

/**
 * workerConfig returns the config a worker of `settings.workers` serves:
 * - limits the config sets for the whole instance (a listener's open connections, a client address's
 *   connection and HTTP/2 reset rates, a service's requests in flight per endpoint and in all) become each
 *   worker's share, so that all workers together never admit more than the limit. The share is rounded
 *   down, and at least 1 (a limit below the number of workers admits one per worker); 0 (no limit) stays
 *   0. An uneven spread of connections over workers can refuse a little early; never late.
 * - cookie affinity without a `secret` gets the primary's, so a cookie one worker sets is honoured by all
 *   (a process alone would sign with a secret of its own).
 * - a route's rate limit gives each worker rate / N and a share of the burst, and its in-flight limits a
 *   share each: the kernel spreads a client's connections over the workers, so together they admit
 *   about the configured rate, never more than the in-flight limits.
 */
export function workerConfig(config: PorticoConfig, settings: WorkerSettings): PorticoConfig {
  return new WorkerConfigs(settings).of(config);
}

type Service = PorticoConfig['services'][number];
type Listener = PorticoConfig['listeners'][number];
type Route = PorticoConfig['routes'][number];

/**
 * WorkerConfigs makes `workerConfig`s for one primary, keeping identity: a service or listener list that
 * is the same object as last time gives the same worker object, so that what reaches the workers is only
 * what changed (`diffConfig`) and their proxies recompile only that.
 */
export class WorkerConfigs {
  readonly #settings: WorkerSettings;
  readonly #services = new WeakMap<Service, Service>();
  readonly #routes = new WeakMap<Route, Route>();
  #listeners: { readonly from: readonly Listener[]; readonly to: Listener[] } | undefined;

  constructor(settings: WorkerSettings) {
    this.#settings = settings;
  }

  of(config: PorticoConfig): PorticoConfig {
    if (this.#listeners?.from !== config.listeners)
      this.#listeners = { from: config.listeners, to: config.listeners.map((l) => this.#listener(l)) };
    return {
      ...config,
      listeners: this.#listeners.to,
      services: config.services.map((s) => {
        let mine = this.#services.get(s);
        if (mine === undefined) {
          mine = this.#service(s);
          this.#services.set(s, mine);
        }
        return mine;
      }),
      routes: config.routes.map((r) => {
        let mine = this.#routes.get(r);
        if (mine === undefined) {
          mine = this.#route(r);
          this.#routes.set(r, mine);
        }
        return mine;
      }),
    };
  }

  /**
   * #route is `r` itself unless it has a local rate limit (each worker gets a share of its rate and
   * burst) or in-flight limits (each worker gets a share). A global rate limit is whole in every worker:
   * the workers count it together in the shared store.
   */
  #route(r: Route): Route {
    const limit = r.rateLimit?.global === true ? undefined : r.rateLimit;
    const { workers } = this.#settings;
    if ((limit === undefined && r.inFlight === undefined) || workers <= 1) return r;
    const inFlight = r.inFlight;
    const shared: Route =
      inFlight === undefined
        ? r
        : {
            ...r,
            inFlight: {
              ...inFlight,
              ...(inFlight.max === undefined ? {} : { max: this.#share(inFlight.max) }),
              ...(inFlight.maxPerClient === undefined
                ? {}
                : { maxPerClient: this.#share(inFlight.maxPerClient) }),
            },
          };
    if (limit === undefined) return shared;
    const part = (rate: number | undefined) => (rate === undefined ? undefined : rate / workers);
    const perSecond = part(limit.requestsPerSecond);
    const perMinute = part(limit.requestsPerMinute);
    const burst =
      limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerSecond ?? (limit.requestsPerMinute ?? 60) / 60));
    return {
      ...shared,
      rateLimit: {
        ...limit,
        ...(perSecond === undefined ? {} : { requestsPerSecond: perSecond }),
        ...(perMinute === undefined ? {} : { requestsPerMinute: perMinute }),
        burst: this.#share(burst),
      },
    };
  }

  #share(limit: number): number {
    const { workers } = this.#settings;
    return limit === 0 || workers <= 1 ? limit : Math.max(1, Math.floor(limit / workers));
  }

  #listener(l: Listener): Listener {
    return {
      ...l,
      maxConnections: this.#share(l.maxConnections),
      perSource: {
        newConnectionsPerSecond: this.#share(l.perSource.newConnectionsPerSecond),
        resetStreamsPerSecond: this.#share(l.perSource.resetStreamsPerSecond),
      },
    };
  }

  /** #service is `s` itself when a worker serves it as it is (no limit to share, no secret to give). */
  #service(s: Service): Service {
    const unsigned = s.affinity?.type === 'cookie' && s.affinity.secret === undefined;
    if (!unsigned && s.maxConnectionsPerEndpoint === 0 && s.maxPendingRequests === 0) return s;
    return {
      ...s,
      maxConnectionsPerEndpoint: this.#share(s.maxConnectionsPerEndpoint),
      maxPendingRequests: this.#share(s.maxPendingRequests),
      ...(unsigned ? { affinity: { ...s.affinity!, secret: this.#settings.cookieSecret } } : {}),
    };
  }
}
