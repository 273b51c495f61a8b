import type { PorticoConfig } from '@portico/config';

/**
 * workerShare returns the config a worker of `workers` serves: limits the config sets for the whole
 * instance (a listener's open connections, a client address's connection and HTTP/2 reset rates, a
 * service's requests in flight per endpoint and in all) become each worker's share, so that all workers
 * together never admit more than the limit. The share is rounded down, and at least 1 (a limit below the
 * number of workers admits one per worker); 0 (no limit) stays 0. An uneven spread of connections over
 * workers can refuse a little early; never late.
 */
export function workerShare(config: PorticoConfig, workers: number): PorticoConfig {
  if (workers <= 1) return config;
  const share = (limit: number) => (limit === 0 ? 0 : Math.max(1, Math.floor(limit / workers)));
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
    })),
  };
}
