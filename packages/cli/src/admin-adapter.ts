import { rename, writeFile } from 'node:fs/promises';
import type {
  AdminSource,
  CertificatesView,
  ConfigDiffView,
  HistogramView,
  ProblemView,
} from '@portico/admin';
import {
  type ConfigIssue,
  type PorticoConfig,
  pathDestination,
  REDACTED,
  redactSecrets,
  restoreSecrets,
  validateConfig,
} from '@portico/config';
import type { FileProblem } from '@portico/discovery';
import { LATENCY_BUCKETS_MS, type LatencyHistogram, type PorticoProxy } from '@portico/proxy';
import { explain } from '@portico/router';
import { checkRoutes } from './check-routes.ts';
import { explanationJson } from './explanation-json.ts';
import type { RunState } from './run-state.ts';

/** certificatesView lists the certificates served and the HTTPS route hosts none of them names. */
function certificatesView(proxy: PorticoProxy): CertificatesView {
  const snapshot = proxy.snapshot;
  const served = snapshot.tls.certificates;
  const now = Date.now();
  const names = new Set(served.flatMap((c) => [...c.hosts, ...c.info.dnsNames]));
  const covered = (host: string) => {
    if (names.has(host)) return true;
    const dot = host.indexOf('.');
    return dot > 0 && names.has(`*${host.slice(dot)}`);
  };
  const https = snapshot.config.listeners.some((l) => l.protocol === 'https');
  const hosts = new Set(
    snapshot.config.routes
      .map((r) => r.host)
      .filter((h): h is string => h !== undefined && !h.startsWith('*')),
  );
  return {
    certificates: served.map((c) => ({
      name: c.name,
      hosts: c.hosts,
      subject: c.info.subject,
      issuer: c.info.issuer,
      notAfter: c.info.notAfter.toISOString(),
      daysLeft: Math.floor((c.info.notAfter.getTime() - now) / 86_400_000),
      stale: c.stale,
    })),
    uncovered: https ? [...hosts].filter((h) => !covered(h)).sort() : [],
  };
}

/** AdminActions are what the admin API may ask `portico run` to do. */
export interface AdminActions {
  drain(): Promise<void>;
  /** reload re-reads the config file now and applies it if valid (as a file change would). */
  reload(): Promise<void>;
}

/**
 * withKeptSecrets restores the secrets a document posted to the admin API carries as the redaction
 * placeholder (as `GET /config` shows them) from the config in force, or says which it could not.
 */
function withKeptSecrets(
  document: unknown,
  current: PorticoConfig,
): { ok: true; document: unknown } | { ok: false; problems: ProblemView[] } {
  const { document: restored, unresolved } = restoreSecrets(document, current);
  if (unresolved.length === 0) return { ok: true, document: restored };
  return {
    ok: false,
    problems: unresolved.map((path) => ({
      code: 'PORTICO_CONFIG_INVALID',
      where: 'body',
      path,
      message: `is "${REDACTED}" but the config in force has no value here to keep; send the secret itself`,
    })),
  };
}

/** adminSource adapts the running proxy to the admin API's read-and-act interface. */
export function adminSource(proxy: PorticoProxy, state: RunState, actions: AdminActions): AdminSource {
  const { drain, reload } = actions;
  return {
    ready: () => state.ready && !proxy.draining,
    status: () => {
      const workers = state.workers?.();
      return {
        version: proxy.snapshot.version,
        appliedAt: state.appliedAt.toISOString(),
        source: state.source,
        uptimeSeconds: Math.round((Date.now() - state.startedAt) / 1000),
        connections:
          workers === undefined ? proxy.connectionCount : workers.reduce((n, w) => n + w.connections, 0),
        draining: proxy.draining,
        ...(workers === undefined ? {} : { workers }),
      };
    },
    routes: () =>
      proxy.snapshot.routes.rules().map((rule) => ({
        id: rule.id,
        route: rule.routeName,
        host: rule.host ?? null,
        path: rule.path,
        type: rule.regex === undefined ? rule.type : 'regex',
        service: rule.target.destination,
        match: rule.conditions?.describe() ?? null,
        filters: rule.target.policy.filters.all.map((f) => f.name),
        requests: rule.target.hits.requests,
      })),
    certificates: () => certificatesView(proxy),
    timeline: () => state.timeline,
    configHistory: () => state.history,
    acme: () => state.acme?.() ?? [],
    explain: (url) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return new Error(`"${url}" is not an absolute URL (http://host/path)`);
      }
      return explanationJson(
        explain(proxy.snapshot.routes, target.host, target.pathname),
        (t) => t.destination,
      );
    },
    services: () =>
      [...proxy.snapshot.services.values()].map((service) => ({
        name: service.name,
        balancer: service.config.balancer,
        panic: service.panic,
        active: service.state.active,
        retries: service.state.retriesTotal,
        retriesActive: service.state.retries,
        affinityEntries:
          service.config.affinity !== undefined && service.config.affinity.type !== 'cookie'
            ? service.state.affinityTable(service.config.affinity).size
            : null,
        endpoints: service.config.endpoints.map((config, i) => {
          const e = service.endpoints[i]!;
          return {
            endpoint: e.key,
            weight: config.weight,
            ready: config.ready,
            healthy: e.healthy,
            ejected: e.ejected,
            disabled: e.disabled,
            active: e.active,
            connections: e.connections,
            requests: e.requests,
            failures: e.failures,
            ejections: e.ejections,
            ewmaMs: Math.round(e.ewmaMs * 1000) / 1000,
          };
        }),
      })),
    listeners: () => {
      const counters = proxy.listenerCounters();
      return proxy.listeners().map((l) => {
        const config = proxy.snapshot.config.listeners.find((c) => c.name === l.name);
        const c = counters.get(l.name);
        return {
          name: l.name,
          protocol: config?.protocol ?? 'http',
          address: l.address,
          port: l.port,
          connections: c?.connections ?? 0,
          active: c?.active ?? 0,
          refused: c?.refused ?? 0,
          bytesIn: c?.bytesIn ?? 0,
          bytesOut: c?.bytesOut ?? 0,
        };
      });
    },
    config: () => ({
      version: proxy.snapshot.version,
      appliedAt: state.appliedAt.toISOString(),
      source: state.source,
      config: redactSecrets(proxy.snapshot.config),
    }),
    configErrors: () => state.lastProblems.map(toView),
    counters: () => ({
      requests: proxy.counters.requests,
      errors: proxy.counters.errors,
      responses5xx: proxy.counters.responses5xx,
      denied: proxy.counters.denied,
      rateLimited: proxy.counters.rateLimited,
      unauthorized: proxy.counters.unauthorized,
      rateLimitStoreErrors: proxy.globalLimits.errors,
      connections: proxy.counters.connections,
      activeConnections: proxy.connectionCount,
      upstreamConnectionsCreated: proxy.pool.created,
      upstreamRequestsReused: proxy.pool.reused,
      configApplies: state.applies,
      configErrors: state.refused,
      lastApplyMs: state.lastApplyMs,
    }),
    traffic: () => ({
      routes: [...proxy.routeStats.entries()].map(([name, stats]) => ({
        name,
        responses: [...stats.responses],
        duration: histogram(stats.duration),
      })),
      services: [...proxy.snapshot.services.values()].map((service) => ({
        name: service.name,
        responses: [...service.state.stats.responses],
        duration: histogram(service.state.stats.duration),
        ttfb: histogram(service.state.stats.ttfb),
      })),
    }),
    validate: (posted) => {
      const kept = withKeptSecrets(posted, proxy.snapshot.config);
      if (!kept.ok) return kept.problems;
      const result = validateConfig(kept.document);
      if (!result.ok) return result.issues.map(bodyIssueView);
      return checkRoutes(result.config, inBody).errors.map(toView);
    },
    diff: (posted) => {
      const kept = withKeptSecrets(posted, proxy.snapshot.config);
      if (!kept.ok) return kept.problems;
      const result = validateConfig(kept.document);
      if (!result.ok) return result.issues.map(bodyIssueView);
      return diffConfigs(proxy.snapshot.config, result.config);
    },
    discovery: () => {
      const k = state.kubernetes?.view();
      return {
        source: k === undefined ? 'file' : 'kubernetes',
        convergence: histogram(state.convergence),
        watches: (k?.resources ?? []).map((r) => ({
          kind: r.kind,
          namespace: r.namespace,
          objects: r.objects,
          watches: r.watches,
          relists: r.relists,
          failures: r.failures,
          watchdogRecycles: r.watchdogRecycles,
          lastError: r.lastError ?? null,
        })),
        issues: (k?.issues ?? []).map((i) => ({
          code: i.code,
          object: `${i.object.kind} ${i.object.namespace === undefined ? '' : `${i.object.namespace}/`}${i.object.name}`,
          field: i.field,
          message: i.message,
        })),
        leader: k === undefined ? null : k.leader.leading,
        ...(k === undefined ? {} : { details: { ...k, issues: undefined } }),
      };
    },
    replaceConfig: async (posted, version) => {
      if (state.kubernetes !== undefined)
        return {
          status: 'unsupported',
          reason: 'the config comes from Kubernetes: change the Ingress, Service or Secret objects instead',
        };
      const current = proxy.snapshot.version;
      if (version !== String(current)) return { status: 'conflict', version: current };
      const kept = withKeptSecrets(posted, proxy.snapshot.config);
      if (!kept.ok) return { status: 'invalid', problems: kept.problems };
      const document = kept.document;
      const result = validateConfig(document);
      if (!result.ok) {
        return {
          status: 'invalid',
          problems: result.issues.map(bodyIssueView),
        };
      }
      const routeErrors = checkRoutes(result.config, inBody).errors;
      if (routeErrors.length > 0) return { status: 'invalid', problems: routeErrors.map(toView) };
      const file = state.source;
      // yaml loads here, on the one admin call that writes a file: workers read views through this module.
      const text = file.endsWith('.json')
        ? `${JSON.stringify(document, null, 2)}\n`
        : (await import('yaml')).stringify(document);
      await writeFile(`${file}.portico-tmp`, text);
      await rename(`${file}.portico-tmp`, file); // atomic: the watcher sees one complete file
      await reload();
      if (state.lastProblems.length > 0)
        return { status: 'invalid', problems: state.lastProblems.map(toView) };
      return { status: 'applied', version: proxy.snapshot.version };
    },
    setEndpointDisabled: (key, disabled) => {
      // Maintenance is of the pod: it leaves (and rejoins) every service it serves.
      const endpoints = proxy.endpoints().filter((e) => e.key === key);
      for (const endpoint of endpoints) endpoint.setDisabled(disabled);
      return endpoints.length > 0;
    },
    drain,
  };
}

/** routeKeys maps each path rule of a config to its service: `host type path` -> service. */
function routeKeys(config: PorticoConfig): Map<string, string> {
  const keys = new Map<string, string>();
  for (const route of config.routes) {
    for (const p of route.paths)
      keys.set(`${route.host ?? '*'} ${p.regex ? 'regex' : p.type} ${p.path}`, pathDestination(route, p));
  }
  return keys;
}

/** diffConfigs says what replacing `before` with `after` would change. */
export function diffConfigs(before: PorticoConfig, after: PorticoConfig): ConfigDiffView {
  const old = routeKeys(before);
  const next = routeKeys(after);
  const oldServices = new Set(before.services.map((s) => s.name));
  const nextServices = new Set(after.services.map((s) => s.name));
  return {
    routesAdded: [...next.keys()].filter((k) => !old.has(k)),
    routesRemoved: [...old.keys()].filter((k) => !next.has(k)),
    routesChanged: [...next]
      .filter(([k, v]) => old.has(k) && old.get(k) !== v)
      .map(([route, to]) => ({ route, from: old.get(route)!, to })),
    routesShadowed: checkRoutes(after, inBody).warnings.map(toView),
    servicesAdded: [...nextServices].filter((s) => !oldServices.has(s)),
    servicesRemoved: [...oldServices].filter((s) => !nextServices.has(s)),
    servicesWithoutEndpoints: after.services.filter((s) => s.endpoints.length === 0).map((s) => s.name),
  };
}

function histogram(h: LatencyHistogram): HistogramView {
  return { bucketsMs: LATENCY_BUCKETS_MS, counts: [...h.counts], sumMs: h.sum, count: h.count };
}

function toView(problem: FileProblem): ProblemView {
  return { code: problem.code, where: problem.where, path: problem.path, message: problem.message };
}

/** Names a path inside a document posted to the admin API. */
function inBody(path: string): string {
  return `body ${path}`;
}

/** A schema issue in a document posted to the admin API. */
function bodyIssueView(issue: ConfigIssue): ProblemView {
  return { code: 'PORTICO_CONFIG_INVALID', where: 'body', path: issue.path, message: issue.message };
}
