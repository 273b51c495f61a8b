import type {
  LimitsConfig,
  PorticoConfig,
  RedirectConfig,
  RequestParsingConfig,
  TimeoutsConfig,
} from '@portico/config';
import { HostnameList, type LayeredMap, type RouteIssue, type RouteTable } from '@portico/router';
import type { ServiceBalancer } from './balancer/service-balancer.ts';
import type { ServiceRegistry } from './balancer/service-state.ts';
import type { WeightedBackends } from './balancer/weighted-backends.ts';
import { ForwardingPolicy } from './forwarding-policy.ts';
import { compileL4Route, type L4Route } from './l4/l4-route.ts';
import { ErrorPages } from './pipeline/error-pages.ts';
import type { Filter } from './pipeline/filter.ts';
import { AccessListFilter } from './pipeline/filters/access-list-filter.ts';
import { HttpsRedirectFilter } from './pipeline/filters/https-redirect-filter.ts';
import { compileRoutes, type RouteCompilation } from './route-compilation.ts';
import { type PolicyContext, type RoutePolicy, toHttps } from './route-policy.ts';
import { compileServices, type ServiceChanges } from './service-compilation.ts';
import type { CertificateStore, TlsCompilation } from './tls/certificate-store.ts';
import type { StatsRegistry } from './traffic-stats.ts';
import type { EndpointRegistry } from './upstream/endpoint-registry.ts';

/**
 * RouteTarget is what a matched rule yields: the route's policy and where the path sends requests: one
 * service, weighted backends, or neither (a redirect-only route, whose filters answer every request).
 */
export interface RouteTarget {
  readonly policy: RoutePolicy;
  /** service names the path's service, resolved per request in the snapshot's `services`. */
  readonly service: string | undefined;
  readonly backends: WeightedBackends | undefined;
  /** destination says where the path sends requests, in words (`pathDestination`), for explain and routes. */
  readonly destination: string;
  /** hits counts the requests this rule matched since it was compiled (per path, for the dashboard). */
  readonly hits: { requests: number };
}

/**
 * Snapshot is everything a request needs, compiled once per config change and never modified: the route
 * table, the services, timeouts and limits. A request keeps the snapshot it started with.
 */
export interface Snapshot {
  readonly version: number;
  readonly config: PorticoConfig;
  readonly routes: RouteTable<RouteTarget>;
  readonly forwarding: ForwardingPolicy;
  readonly services: LayeredMap<string, ServiceBalancer>;
  /** serviceChanges say which balancers this snapshot replaced or removed; 'all' for a first one. */
  readonly serviceChanges: ServiceChanges | 'all';
  /** l4 holds the routing of L4 listeners and of HTTP listeners that accept the PROXY protocol, by name. */
  readonly l4: ReadonlyMap<string, L4Route>;
  /** tls holds each HTTPS listener's certificates and policy, and the certificates' issues. */
  readonly tls: TlsCompilation;
  /**
   * listenerFilters are the request filters of each HTTP listener (by name) that has any, run before the
   * route is matched: a listener's `access` list and `httpsRedirect`.
   */
  readonly listenerFilters: ReadonlyMap<string, readonly Filter[]>;
  /** listenerHostnames are the hosts each HTTP listener (by name) that lists `hostnames` serves. */
  readonly listenerHostnames: ReadonlyMap<string, HostnameList>;
  /**
   * toHttps is where a route's `httpsRedirect` sends a request: the same host and path over HTTPS, on the
   * port of the first https listener when that is not 443 (nor 0).
   */
  readonly toHttps: RedirectConfig;
  /** errorPages are the proxy's custom error pages (`errorPages`), after a route's own. */
  readonly errorPages: ErrorPages | undefined;
  readonly timeouts: TimeoutsConfig;
  readonly limits: LimitsConfig;
  /** requestParsing is how each HTTP listener (by name) normalises request heads: `requestParsing` with its overrides. */
  readonly requestParsing: ReadonlyMap<string, RequestParsingConfig>;
  /** routeIssues are the problems found compiling routes; rules with errors were left out. */
  readonly routeIssues: readonly RouteIssue[];
  /** routing is how the routes were compiled, for the next config to reuse what it keeps. */
  readonly routing: RouteCompilation;
}

/** PolicyServices are what the proxy lends route policies: the global rate limits' store, an HTTP client. */
export type PolicyServices = Pick<PolicyContext, 'globalLimits' | 'authDispatcher'>;

/**
 * compileSnapshot builds a snapshot from a validated config, with endpoint state from `registry`. A
 * service whose config is the very object `previous` compiled (a source that rebuilds only what changed,
 * as the Kubernetes one does) keeps its balancer, and unchanged routes keep their compiled rules and
 * filters, with only the hosts whose routes changed rebuilt (`compileRoutes`).
 */
export function compileSnapshot(
  config: PorticoConfig,
  registry: EndpointRegistry,
  services: ServiceRegistry,
  routeStats: StatsRegistry,
  certificates: CertificateStore,
  version: number,
  previous?: Snapshot,
  policies: PolicyServices = {},
): Snapshot {
  const { services: balancers, changes } = compileServices(config, registry, services, previous);
  const https = toHttps(config);
  const routing = compileRoutes(
    config,
    routeStats,
    { timeouts: config.timeouts, limits: config.limits, toHttps: https, ...policies },
    previous?.routing,
  );
  return {
    version,
    config,
    routes: routing.table,
    routing,
    forwarding: new ForwardingPolicy(config.forwarding),
    services: balancers,
    serviceChanges: changes,
    l4: new Map(
      config.listeners
        .filter((l) => l.protocol !== 'http' || l.proxyProtocol !== undefined)
        .map((l) => [l.name, compileL4Route(l, balancers, config.timeouts.upstreamConnectMs)]),
    ),
    tls: certificates.compile(config),
    listenerFilters: new Map(
      config.listeners.flatMap((l) => {
        const filters: Filter[] = [];
        if (l.access !== undefined) filters.push(new AccessListFilter(l.access));
        if (l.httpsRedirect !== undefined) {
          const port = l.httpsRedirect.port ?? 443;
          const to: RedirectConfig = port === 443 ? { scheme: 'https' } : { scheme: 'https', port };
          filters.push(new HttpsRedirectFilter(to, true));
        }
        return filters.length === 0 ? [] : [[l.name, filters] as const];
      }),
    ),
    listenerHostnames: new Map(
      config.listeners.flatMap((l) => {
        if (l.hostnames === undefined) return [];
        const list = HostnameList.compile(l.hostnames);
        if (typeof list === 'string') throw new Error(`listener "${l.name}" hostnames: ${list}`);
        return [[l.name, list] as const];
      }),
    ),
    toHttps: https,
    errorPages:
      config.errorPages === undefined
        ? undefined
        : ErrorPages.compile(config.errorPages, policies.authDispatcher),
    timeouts: config.timeouts,
    limits: config.limits,
    requestParsing: new Map(
      config.listeners.map((l) => [
        l.name,
        l.escapedSlashes === undefined
          ? config.requestParsing
          : { ...config.requestParsing, escapedSlashes: l.escapedSlashes },
      ]),
    ),
    routeIssues: routing.issues,
  };
}
