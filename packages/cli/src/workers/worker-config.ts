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
 */
export function workerConfig(config: PorticoConfig, settings: WorkerSettings): PorticoConfig {
  const { workers, cookieSecret } = settings;
  const share = (limit: number) =>
    limit === 0 || workers <= 1 ? limit : Math.max(1, Math.floor(limit / workers));
  return {
    ...config,
    listeners: config.listeners.map((l) => ({
      ...l,
      maxConnections: share(l.maxConnections),
      perSource: {
        newConnectionsPerSecond: share(l.perSource.newConnectionsPerSecond),
        resetStreamsPerSecond: share(l.perSource.resetStreamsPerSecond),
      },
    })),
    services: config.services.map((s) => ({
      ...s,
      maxConnectionsPerEndpoint: share(s.maxConnectionsPerEndpoint),
      maxPendingRequests: share(s.maxPendingRequests),
      ...(s.affinity?.type === 'cookie' && s.affinity.secret === undefined
        ? { affinity: { ...s.affinity, secret: cookieSecret } }
        : {}),
    })),
  };
}
