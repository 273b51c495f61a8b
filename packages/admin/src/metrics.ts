import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { AdminSource, HistogramView, TrafficEntry } from './admin-source.ts';

/** Metrics renders the Prometheus exposition: prom-client's registry plus Portico's histograms. */
export interface Metrics {
  readonly contentType: string;
  render(): Promise<string>;
}

const CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

/** histogramText renders latency histograms (ms in, seconds out) in the text exposition format. */
function histogramText(
  name: string,
  help: string,
  label: string,
  entries: [string, HistogramView][],
): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} histogram\n`;
  for (const [value, h] of entries) {
    const l = `${label}="${escapeLabel(value)}"`;
    let cumulative = 0;
    h.bucketsMs.forEach((bound, i) => {
      cumulative += h.counts[i]!;
      out += `${name}_bucket{${l},le="${bound / 1000}"} ${cumulative}\n`;
    });
    out += `${name}_bucket{${l},le="+Inf"} ${h.count}\n${name}_sum{${l}} ${h.sumMs / 1000}\n${name}_count{${l}} ${h.count}\n`;
  }
  return out;
}

/** createPorticoMetrics is `createMetrics` with the traffic histograms appended. */
export function createPorticoMetrics(source: AdminSource): Metrics {
  const registry = createMetrics(source);
  return {
    contentType: registry.contentType,
    async render() {
      const traffic = source.traffic();
      const discovery = source.discovery();
      const pairs = (list: TrafficEntry[], pick: (t: TrafficEntry) => HistogramView | undefined) =>
        list.flatMap((t) => {
          const h = pick(t);
          return h === undefined ? [] : [[t.name, h] as [string, HistogramView]];
        });
      return (
        (await registry.metrics()) +
        histogramText(
          'portico_route_request_duration_seconds',
          'Time from request head to response end, by route.',
          'route',
          pairs(traffic.routes, (t) => t.duration),
        ) +
        histogramText(
          'portico_service_upstream_ttfb_seconds',
          'Time from request sent to response head, by service.',
          'service',
          pairs(traffic.services, (t) => t.ttfb),
        ) +
        histogramText(
          'portico_discovery_convergence_seconds',
          'Time from a change arriving (a Kubernetes watch event) to the route being live.',
          'source',
          [[discovery.source, discovery.convergence]],
        )
      );
    },
  };
}

/** Set records one labelled value of a metric while it is collected. */
type Set = (labels: Record<string, string>, value: number) => void;
type Endpoint = ReturnType<AdminSource['services']>[number]['endpoints'][number];
type Counters = ReturnType<AdminSource['counters']>;

/** SCALARS are the unlabelled metrics read from `counters()`: name, help, value. */
const SCALARS: [string, string, (c: Counters) => number][] = [
  ['portico_requests_total', 'Requests parsed and routed or answered.', (c) => c.requests],
  ['portico_local_errors_total', 'Requests answered with an error Portico generated.', (c) => c.errors],
  ['portico_responses_5xx_total', 'Responses with a 5xx status.', (c) => c.responses5xx],
  ['portico_policy_denied_total', 'Requests an access list refused (403).', (c) => c.denied],
  ['portico_policy_rate_limited_total', 'Requests a rate limit refused (429 or 503).', (c) => c.rateLimited],
  ['portico_policy_unauthorized_total', 'Requests without valid credentials (401).', (c) => c.unauthorized],
  [
    'portico_rate_limit_store_errors_total',
    'Syncs of global rate limits with their store (Redis) that failed.',
    (c) => c.rateLimitStoreErrors,
  ],
  ['portico_connections_total', 'Client connections accepted.', (c) => c.connections],
  ['portico_connections_active', 'Client connections open now.', (c) => c.activeConnections],
  [
    'portico_upstream_connections_created_total',
    'Upstream connections opened.',
    (c) => c.upstreamConnectionsCreated,
  ],
  [
    'portico_upstream_requests_reused_total',
    'Requests sent on a pooled upstream connection.',
    (c) => c.upstreamRequestsReused,
  ],
  ['portico_config_applies_total', 'Configs applied.', (c) => c.configApplies],
  ['portico_config_errors_total', 'Config changes refused.', (c) => c.configErrors],
  ['portico_config_apply_seconds', 'How long the last config apply took.', (c) => c.lastApplyMs / 1000],
];

/** PER_ENDPOINT are the metrics labelled by service and endpoint. */
const PER_ENDPOINT: [string, string, (e: Endpoint) => number][] = [
  [
    'portico_endpoint_healthy',
    '1 when the endpoint is available (healthy, not ejected, not disabled).',
    (e) => (e.healthy && !e.ejected && !e.disabled ? 1 : 0),
  ],
  ['portico_endpoint_active', 'Requests or L4 connections in flight to the endpoint.', (e) => e.active],
  [
    'portico_endpoint_connections',
    'Open upstream connections to the endpoint, pooled or busy.',
    (e) => e.connections,
  ],
  ['portico_endpoint_requests_total', 'Requests or L4 connections sent to the endpoint.', (e) => e.requests],
  [
    'portico_endpoint_failures_total',
    '5xx responses and connection failures of the endpoint.',
    (e) => e.failures,
  ],
  ['portico_endpoint_ejections_total', 'Passive-health ejections of the endpoint.', (e) => e.ejections],
];

type Watch = ReturnType<AdminSource['discovery']>['watches'][number];

/** PER_WATCH are the metrics of the config source's watches, labelled by kind and namespace (`*`: all). */
const PER_WATCH: [string, string, (w: Watch) => number][] = [
  ['portico_discovery_watch_requests_total', 'Watch requests made, by kind and namespace.', (w) => w.watches],
  ['portico_discovery_relists_total', 'Relists after 410 Gone, by kind and namespace.', (w) => w.relists],
  [
    'portico_discovery_watch_failures_total',
    'Failed lists and watches (retried with backoff).',
    (w) => w.failures,
  ],
  ['portico_discovery_objects', 'Objects watched, by kind and namespace.', (w) => w.objects],
];

/**
 * createMetrics builds the Prometheus registry served at `/metrics`. Every Portico metric is read from
 * the data plane's own counters when Prometheus scrapes: nothing is counted per request through
 * prom-client. Names ending in `_total` are counters, the others gauges.
 */
export function createMetrics(source: AdminSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'portico_' }); // portico_process_*, portico_nodejs_*
  const metric = (name: string, help: string, labelNames: string[], collect: (set: Set) => void) => {
    if (name.endsWith('_total')) {
      new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          collect((labels, value) => this.inc(labels, Math.max(0, value)));
        },
      });
    } else {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          collect((labels, value) => this.set(labels, value));
        },
      });
    }
  };
  for (const [name, help, read] of SCALARS) metric(name, help, [], (set) => set({}, read(source.counters())));
  metric('portico_config_version', 'Version of the config in force.', [], (set) =>
    set({}, source.status().version),
  );
  for (const [name, help, read] of PER_ENDPOINT) {
    metric(name, help, ['service', 'endpoint'], (set) => {
      for (const service of source.services()) {
        for (const e of service.endpoints) set({ service: service.name, endpoint: e.endpoint }, read(e));
      }
    });
  }
  metric('portico_service_retries_total', 'Retries made, by service.', ['service'], (set) => {
    for (const s of source.services()) set({ service: s.name }, s.retries);
  });
  metric(
    'portico_service_retries_active',
    'Retries in flight (bounded by the retry budget), by service.',
    ['service'],
    (set) => {
      for (const s of source.services()) set({ service: s.name }, s.retriesActive);
    },
  );
  for (const [kind, label] of [
    ['routes', 'route'],
    ['services', 'service'],
  ] as const) {
    metric(
      `portico_${label}_responses_total`,
      `Responses by ${label} and status class.`,
      [label, 'class'],
      (set) => {
        for (const t of source.traffic()[kind]) {
          t.responses.forEach((n, c) => {
            set({ [label]: t.name, class: CLASSES[c]! }, n);
          });
        }
      },
    );
  }
  for (const [name, help, read] of PER_WATCH) {
    metric(name, help, ['kind', 'namespace'], (set) => {
      for (const w of source.discovery().watches)
        set({ kind: w.kind, namespace: w.namespace ?? '*' }, read(w));
    });
  }
  metric(
    'portico_discovery_issues',
    'Problems found in source objects (Ingresses) now, by code (an unhonoured ingress-nginx annotation, a missing Service...).',
    ['code'],
    (set) => {
      const byCode = new Map<string, number>();
      for (const issue of source.discovery().issues)
        byCode.set(issue.code, (byCode.get(issue.code) ?? 0) + 1);
      for (const [code, n] of byCode) set({ code }, n);
    },
  );
  metric('portico_discovery_leader', '1 when this instance holds the leader Lease.', [], (set) =>
    set({}, source.discovery().leader === true ? 1 : 0),
  );
  metric(
    'portico_certificate_expiry_timestamp_seconds',
    'When each certificate served ends (its notAfter), in seconds since the epoch.',
    ['certificate'],
    (set) => {
      for (const c of source.certificates?.().certificates ?? [])
        set({ certificate: c.name }, Math.floor(new Date(c.notAfter).getTime() / 1000));
    },
  );
  metric(
    'portico_acme_orders_total',
    'ACME orders by host and result (issued, failed).',
    ['host', 'result'],
    (set) => {
      for (const h of source.acme?.() ?? []) {
        set({ host: h.host, result: 'issued' }, h.issued);
        set({ host: h.host, result: 'failed' }, h.failed);
      }
    },
  );
  metric('portico_listener_connections_active', 'Connections open per listener.', ['listener'], (set) => {
    for (const l of source.listeners()) set({ listener: l.name }, l.active);
  });
  metric(
    'portico_listener_bytes_total',
    'L4 bytes per listener and direction (closed connections).',
    ['listener', 'direction'],
    (set) => {
      for (const l of source.listeners()) {
        set({ listener: l.name, direction: 'in' }, l.bytesIn);
        set({ listener: l.name, direction: 'out' }, l.bytesOut);
      }
    },
  );
  return registry;
}
