import type {
  AdminSource,
  CountersView,
  HistogramView,
  ListenerView,
  ServiceView,
  TrafficEntry,
} from '@portico/admin';
import type { DataPlaneViews } from './worker-messages.ts';
import type { WorkerPool } from './worker-pool.ts';

/**
 * withWorkerViews is `source` with the data plane's views (counters, traffic, services' endpoint
 * counters, listeners) added up over the worker processes: `refresh` asks them, once per admin request
 * that shows those views, and the views read what it gathered. What the primary owns stays the
 * primary's: the services and their endpoints' health and maintenance state, config applies and errors.
 */
export function withWorkerViews(source: AdminSource, pool: WorkerPool): AdminSource {
  let gathered: DataPlaneViews[] = [];
  return {
    ...source,
    refresh: async () => {
      gathered = await pool.views();
    },
    counters: () => sumCounters(source.counters(), gathered),
    traffic: () => ({
      routes: mergeTraffic(gathered.map((v) => v.traffic.routes)),
      services: mergeTraffic(gathered.map((v) => v.traffic.services)),
    }),
    services: () => mergeServices(source.services(), gathered),
    listeners: () => mergeListeners(gathered),
  };
}

/** TRAFFIC_COUNTERS are the counters the workers count; the others are the primary's. */
const TRAFFIC_COUNTERS = [
  'requests',
  'errors',
  'responses5xx',
  'denied',
  'rateLimited',
  'unauthorized',
  'rateLimitStoreErrors',
  'connections',
  'activeConnections',
  'upstreamConnectionsCreated',
  'upstreamRequestsReused',
] as const;

function sumCounters(primary: CountersView, workers: readonly DataPlaneViews[]): CountersView {
  const sums = { ...primary };
  for (const name of TRAFFIC_COUNTERS) sums[name] = workers.reduce((n, w) => n + w.counters[name], 0);
  return sums;
}

/** mergeTraffic adds up each route's (or service's) responses and histograms, by name. */
export function mergeTraffic(lists: readonly (readonly TrafficEntry[])[]): TrafficEntry[] {
  const byName = new Map<string, TrafficEntry>();
  for (const list of lists)
    for (const entry of list) {
      const seen = byName.get(entry.name);
      if (seen === undefined) {
        byName.set(entry.name, entry);
        continue;
      }
      const ttfb = addHistograms(seen.ttfb, entry.ttfb);
      byName.set(entry.name, {
        name: entry.name,
        responses: seen.responses.map((n, i) => n + (entry.responses[i] ?? 0)),
        duration: addHistograms(seen.duration, entry.duration)!,
        ...(ttfb === undefined ? {} : { ttfb }),
      });
    }
  return [...byName.values()];
}

function addHistograms(
  a: HistogramView | undefined,
  b: HistogramView | undefined,
): HistogramView | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return {
    bucketsMs: a.bucketsMs,
    counts: a.counts.map((n, i) => n + (b.counts[i] ?? 0)),
    sumMs: a.sumMs + b.sumMs,
    count: a.count + b.count,
  };
}

/**
 * mergeServices keeps the primary's services, endpoints and their health, with what the workers counted
 * added up: requests in flight, connections, requests, failures, retries; an endpoint is ejected when
 * any worker ejected it, and its EWMA is the highest a worker measured.
 */
function mergeServices(primary: readonly ServiceView[], workers: readonly DataPlaneViews[]): ServiceView[] {
  // By name, once per worker: a scrape of thousands of services must not search lists per service.
  const byName = workers.map((w) => new Map(w.services.map((s) => [s.name, s])));
  return primary.map((service) => {
    const theirs = byName.map((m) => m.get(service.name)).filter((s) => s !== undefined);
    const sum = (read: (s: ServiceView) => number) => theirs.reduce((n, s) => n + read(s), 0);
    return {
      ...service,
      active: sum((s) => s.active),
      retries: sum((s) => s.retries),
      retriesActive: sum((s) => s.retriesActive),
      endpoints: service.endpoints.map((endpoint) => {
        const seen = theirs.flatMap((s) => s.endpoints.filter((e) => e.endpoint === endpoint.endpoint));
        const total = (read: (e: typeof endpoint) => number) => seen.reduce((n, e) => n + read(e), 0);
        return {
          ...endpoint,
          ejected: endpoint.ejected || seen.some((e) => e.ejected),
          active: total((e) => e.active),
          connections: total((e) => e.connections),
          requests: total((e) => e.requests),
          failures: total((e) => e.failures),
          ejections: total((e) => e.ejections),
          ewmaMs: Math.max(endpoint.ewmaMs, ...seen.map((e) => e.ewmaMs)),
        };
      }),
    };
  });
}

/** mergeListeners adds up each listener's connections and bytes over the workers (the primary binds none). */
function mergeListeners(workers: readonly DataPlaneViews[]): ListenerView[] {
  const byName = new Map<string, ListenerView>();
  for (const views of workers)
    for (const listener of views.listeners) {
      const seen = byName.get(listener.name);
      byName.set(
        listener.name,
        seen === undefined
          ? listener
          : {
              ...seen,
              connections: seen.connections + listener.connections,
              active: seen.active + listener.active,
              refused: seen.refused + listener.refused,
              bytesIn: seen.bytesIn + listener.bytesIn,
              bytesOut: seen.bytesOut + listener.bytesOut,
            },
      );
    }
  return [...byName.values()];
}
