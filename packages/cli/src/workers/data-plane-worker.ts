import { subscribe } from 'node:diagnostics_channel';
import type { PorticoConfig } from '@portico/config';
import {
  createProxy,
  ENDPOINT_CHANNEL,
  type EndpointAvailability,
  LatencyHistogram,
  OCSP_CHANNEL,
  type OcspEvent,
  type PorticoProxy,
  RATE_LIMIT_STORE_CHANNEL,
  type RateLimitStoreEvent,
} from '@portico/proxy';
import { adminSource } from '../admin-adapter.ts';
import { TraceExport } from '../trace-export.ts';
import { patchConfig } from './config-delta.ts';
import { ACCESS_LOG_ENV, type DataPlaneViews, type FromWorker, type ToWorker } from './worker-messages.ts';

/** STATS_INTERVAL_MS is how often a worker tells the primary its connections and requests. */
const STATS_INTERVAL_MS = 500;

/**
 * runDataPlaneWorker is the body of a data-plane worker process. It serves each config the primary sends
 * (the first binds the listeners with SO_REUSEPORT beside the other workers'; later ones are applied
 * without a restart); applies the endpoint verdicts the primary's health checks make (it runs none of its
 * own) and the ejections other workers made; tells the primary of its own ejections, of what it applied
 * and of its counters; writes its access log lines (when asked) to the one destination all workers
 * share; and on `drain` closes its listeners, lets requests in flight finish and exits. It exits too when
 * the primary goes away, and when it cannot bind its listeners (the primary then starts another).
 */
export async function runDataPlaneWorker(): Promise<void> {
  let proxy: PorticoProxy | undefined;
  /** ticketKeys are the TLS session ticket keys the primary gives all its workers. */
  let ticketKeys: Buffer | undefined;
  const accessLog = process.env[ACCESS_LOG_ENV];
  // pino loads only in a worker that writes an access log.
  const log =
    accessLog === undefined
      ? undefined
      : (await import('../access-log.ts')).startAccessLog(JSON.parse(accessLog));
  const exit = (code: number) => {
    log?.stop();
    process.exit(code);
  };
  let version = 0;
  let pending: Promise<void> = Promise.resolve();
  const send = (message: FromWorker) => process.send?.(message);
  // Each worker exports the spans of the requests it serves (the primary serves none).
  const traces = new TraceExport((message) => process.stderr.write(`${message}\n`));
  const apply = async (next: number, config: PorticoConfig) => {
    try {
      if (proxy === undefined) {
        const first = createProxy(config, {
          reusePort: true,
          activeHealthChecks: false,
          ...(ticketKeys === undefined ? {} : { ticketKeys }),
        });
        try {
          await first.listen();
        } catch (error) {
          await first.close({ drainTimeoutMs: 0 });
          throw error;
        }
        proxy = first;
      } else {
        await proxy.apply(config);
      }
      version = next;
      send({ type: 'applied', version });
      void traces.update(config.tracing);
    } catch (error) {
      const { code = 'PORTICO_APPLY_FAILED', message } = error as Error & { code?: string };
      send({ type: 'refused', version: next, code, message });
      if (proxy === undefined) exit(1);
    }
  };
  subscribe(OCSP_CHANNEL, (event) => send({ type: 'ocsp', event: event as OcspEvent }));
  subscribe(RATE_LIMIT_STORE_CHANNEL, (message) => {
    const { state, message: text } = message as RateLimitStoreEvent;
    send({ type: 'rate-limit-store', state, message: text });
  });
  // This worker's own ejections go to the primary, which tells the others; those it is told of do not.
  let told = false;
  subscribe(ENDPOINT_CHANNEL, (message) => {
    const change = message as EndpointAvailability;
    if (told || change.reason !== 'ejected' || change.available || proxy === undefined) return;
    const state = proxy.endpointState(change.service, change.endpoint);
    if (state === undefined) return;
    send({
      type: 'ejected',
      service: change.service,
      endpoint: change.endpoint,
      ms: Math.max(0, state.ejectedUntil - Date.now()),
      detail: change.detail ?? '',
    });
  });
  /** latest is the last config received, which the next delta is made from. */
  let latest: { version: number; config: PorticoConfig } | undefined;
  process.on('message', (message: ToWorker) => {
    if (message.type === 'config') {
      latest = { version: message.version, config: message.config };
      const { version: next, config } = latest;
      pending = pending.then(() => apply(next, config));
    } else if (message.type === 'delta') {
      if (latest?.version !== message.delta.from) {
        send({ type: 'resync' });
        return;
      }
      latest = { version: message.version, config: patchConfig(latest.config, message.delta) };
      const { version: next, config } = latest;
      pending = pending.then(() => apply(next, config));
    } else if (message.type === 'verdicts')
      pending = pending.then(() => {
        told = true;
        try {
          for (const { service, endpoint, ...verdict } of message.verdicts)
            proxy?.setEndpointAvailability(service, endpoint, verdict);
        } finally {
          told = false;
        }
      });
    else if (message.type === 'ticket-keys') {
      ticketKeys = Buffer.from(message.keys, 'base64');
      proxy?.setTicketKeys(ticketKeys);
    } else if (message.type === 'acme') {
      const answers = proxy?.acmeChallenges;
      answers?.clear();
      for (const [token, keyAuthorization] of message.answers.http) answers?.set(token, keyAuthorization);
      for (const [host, cert, key] of message.answers.alpn) answers?.setTlsAlpn(host, cert, key);
    } else if (message.type === 'views') {
      if (proxy !== undefined) send({ type: 'views', id: message.id, views: dataPlaneViews(proxy) });
    } else if (message.type === 'reopen-logs') log?.reopen();
    else if (message.type === 'drain')
      void pending
        .then(() => proxy?.close({ drainTimeoutMs: message.drainTimeoutMs }))
        .then(() => traces.stop())
        .then(() => exit(0));
  });
  const stats = setInterval(() => {
    if (proxy !== undefined)
      send({
        type: 'stats',
        version,
        connections: proxy.connectionCount,
        requests: proxy.counters.requests,
      });
  }, STATS_INTERVAL_MS);
  stats.unref();
  // Without its primary a worker has nobody to take config from: it stops.
  process.on('disconnect', () => {
    void (proxy?.close({ drainTimeoutMs: 1_000 }) ?? Promise.resolve()).then(() => exit(0));
  });
}

/** dataPlaneViews reads a worker's proxy as the admin API would show it, for the primary to add up. */
function dataPlaneViews(proxy: PorticoProxy): DataPlaneViews {
  const source = adminSource(
    proxy,
    {
      source: 'primary',
      appliedAt: new Date(),
      applies: 0,
      refused: 0,
      lastProblems: [],
      ready: true,
      lastApplyMs: 0,
      startedAt: Date.now(),
      convergence: new LatencyHistogram(),
      kubernetes: undefined,
      timeline: [],
      history: [],
    },
    { drain: async () => {}, reload: async () => {} },
  );
  return {
    counters: source.counters(),
    traffic: source.traffic(),
    services: source.services(),
    listeners: source.listeners(),
  };
}
