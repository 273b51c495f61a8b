import { type PorticoConfig, pathDestination, type RouteConfig } from '@portico/config';
import { compileRouteTable, type RouteIssue, type RouteSpec, type RouteTable } from '@portico/router';
import { WeightedBackends } from './balancer/weighted-backends.ts';
import { compileRoutePolicy } from './route-policy.ts';
import type { RouteTarget } from './snapshot.ts';
import type { StatsRegistry } from './traffic-stats.ts';

/** CompiledRoute is one route of the config, compiled: where it sits in the list and its rules. */
interface CompiledRoute {
  readonly index: number;
  readonly host: string | undefined;
  readonly spec: RouteSpec<RouteTarget>;
}

/**
 * RouteCompilation is a config's routes compiled into a table, kept so the next config's compilation
 * can reuse what did not change.
 */
export interface RouteCompilation {
  readonly table: RouteTable<RouteTarget>;
  readonly issues: readonly RouteIssue[];
  /** byRoute maps each route object of the config to its compiled form. */
  readonly byRoute: ReadonlyMap<RouteConfig, CompiledRoute>;
  /** shared identifies what every route's filters depend on besides the route (timeouts, limits, ...). */
  readonly shared: string;
  /** rebuiltHosts are the host patterns this compilation built (undefined: rules without a host). */
  readonly rebuiltHosts: ReadonlySet<string | undefined> | 'all';
}

/**
 * compileRoutes compiles the routes of `config`. Routes hold service names, not balancers, so endpoint
 * and service changes never touch them. With `previous`, a route that is the very object `previous`
 * compiled, at the same place in the list, keeps its compiled rules and filters, and only the hosts
 * whose routes changed (added, removed, replaced or moved) are rebuilt: every other host's path table
 * is shared, unchanged, with the previous table (`RouteTable.withHosts`). A change to what all routes
 * depend on (timeouts, limits, the HTTPS port, the default service) rebuilds everything.
 */
export function compileRoutes(
  config: PorticoConfig,
  routeStats: StatsRegistry,
  toHttps: Parameters<typeof compileRoutePolicy>[5],
  previous: RouteCompilation | undefined,
): RouteCompilation {
  const shared = JSON.stringify([config.timeouts, config.limits, toHttps, config.defaultService ?? null]);
  const reusable = previous !== undefined && previous.shared === shared;
  const byRoute = new Map<RouteConfig, CompiledRoute>();
  const touched = new Set<string | undefined>();
  const specs = config.routes.map((route, index) => {
    const host = route.host?.toLowerCase();
    const old = reusable ? previous.byRoute.get(route) : undefined;
    if (old !== undefined && old.index === index) {
      byRoute.set(route, old);
      return old.spec;
    }
    touched.add(host);
    const compiled: CompiledRoute = {
      index,
      host,
      spec: compileSpec(config, route, index, routeStats, toHttps),
    };
    byRoute.set(route, compiled);
    return compiled.spec;
  });
  if (!reusable) {
    const defaultTarget = defaultTargetOf(config, routeStats, toHttps);
    const { table, issues } = compileRouteTable(specs, defaultTarget === undefined ? {} : { defaultTarget });
    return { table, issues, byRoute, shared, rebuiltHosts: 'all' };
  }
  for (const [route, old] of previous.byRoute) if (byRoute.get(route) !== old) touched.add(old.host);
  const specsOfTouched = specs.filter((_, i) => touched.has(config.routes[i]!.host?.toLowerCase()));
  const { table, issues } = previous.table.withHosts(touched, specsOfTouched);
  const kept = previous.issues.filter((issue) => !touched.has(hostOfIssue(issue, previous)));
  return { table, issues: [...kept, ...issues], byRoute, shared, rebuiltHosts: touched };
}

/** compileSpec compiles one route: its filters once, shared by its paths, and each path's destination. */
function compileSpec(
  config: PorticoConfig,
  route: RouteConfig,
  index: number,
  routeStats: StatsRegistry,
  toHttps: Parameters<typeof compileRoutePolicy>[5],
): RouteSpec<RouteTarget> {
  const name = route.name ?? `routes[${index}]`;
  const policy = compileRoutePolicy(
    route,
    name,
    config.timeouts,
    config.limits,
    routeStats.get(name),
    toHttps,
  );
  return {
    id: `routes[${index}]`,
    ...(route.name === undefined ? {} : { name: route.name }),
    ...(route.host === undefined ? {} : { host: route.host }),
    paths: route.paths.map((path) => ({
      path: path.path,
      type: path.type,
      regex: path.regex,
      conditions: { method: path.method, headers: path.headers, queryParams: path.queryParams },
      target: {
        policy,
        destination: pathDestination(route, path),
        service: path.service,
        backends: path.backends === undefined ? undefined : new WeightedBackends(path.backends),
      },
    })),
  };
}

function defaultTargetOf(
  config: PorticoConfig,
  routeStats: StatsRegistry,
  toHttps: Parameters<typeof compileRoutePolicy>[5],
): RouteTarget | undefined {
  if (config.defaultService === undefined) return undefined;
  return {
    policy: compileRoutePolicy(
      undefined,
      'default',
      config.timeouts,
      config.limits,
      routeStats.get('default'),
      toHttps,
    ),
    service: config.defaultService,
    backends: undefined,
    destination: config.defaultService,
  };
}

/** hostOfIssue finds the host of the route an issue is about (`routes[3]...`). */
function hostOfIssue(issue: RouteIssue, compilation: RouteCompilation): string | undefined {
  const index = Number(/^routes\[(\d+)\]/.exec(issue.at)?.[1] ?? -1);
  for (const compiled of compilation.byRoute.values()) if (compiled.index === index) return compiled.host;
  return undefined;
}
