import { type PorticoConfig, pathDestination, type RouteConfig } from '@portico/config';
import { compileRouteTable, type RouteIssue, type RouteSpec, type RouteTable } from '@portico/router';
import { WeightedBackends } from './balancer/weighted-backends.ts';
import { compileRoutePolicy, type PolicyContext, withPathFilters } from './route-policy.ts';
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
  /** routes are the route objects of the config compiled, and compiled[i] is what routes[i] became. */
  readonly routes: readonly RouteConfig[];
  readonly compiled: readonly CompiledRoute[];
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
 * depend on (timeouts, limits, the HTTPS port, the default service) rebuilds everything. Finding what
 * changed compares objects by identity, place by place, so it costs microseconds for thousands of routes.
 */
export function compileRoutes(
  config: PorticoConfig,
  routeStats: StatsRegistry,
  context: PolicyContext,
  previous: RouteCompilation | undefined,
): RouteCompilation {
  const shared = JSON.stringify([
    config.timeouts,
    config.limits,
    context.toHttps,
    config.defaultService ?? null,
    config.rateLimitStore === undefined,
  ]);
  const reusable = previous !== undefined && previous.shared === shared;
  const routes = config.routes;
  const touched = new Set<string | undefined>();
  const compiled = routes.map((route, index) => {
    if (reusable && previous.routes[index] === route) return previous.compiled[index]!;
    const host = route.host?.toLowerCase();
    touched.add(host);
    if (reusable && index < previous.compiled.length) touched.add(previous.compiled[index]!.host);
    return { index, host, spec: compileSpec(config, route, index, routeStats, context) };
  });
  if (!reusable) {
    const defaultTarget = defaultTargetOf(config, routeStats, context);
    const { table, issues } = compileRouteTable(
      compiled.map((c) => c.spec),
      defaultTarget === undefined ? {} : { defaultTarget },
    );
    return { table, issues, routes, compiled, shared, rebuiltHosts: 'all' };
  }
  for (let index = routes.length; index < previous.compiled.length; index++)
    touched.add(previous.compiled[index]!.host);
  // The touched hosts' routes, wherever they are in the list: a host may have routes from many places.
  const specs: RouteSpec<RouteTarget>[] = [];
  if (touched.size > 0) for (const c of compiled) if (touched.has(c.host)) specs.push(c.spec);
  const { table, issues } = previous.table.withHosts(touched, specs);
  const kept = previous.issues.filter((issue) => !touched.has(hostOfIssue(issue, previous)));
  return { table, issues: [...kept, ...issues], routes, compiled, shared, rebuiltHosts: touched };
}

/** compileSpec compiles one route: its filters once, shared by its paths, and each path's destination. */
function compileSpec(
  config: PorticoConfig,
  route: RouteConfig,
  index: number,
  routeStats: StatsRegistry,
  context: PolicyContext,
): RouteSpec<RouteTarget> {
  const name = route.name ?? `routes[${index}]`;
  const policy = compileRoutePolicy(route, name, routeStats.get(name), context);
  return {
    id: `routes[${index}]`,
    ...(route.name === undefined ? {} : { name: route.name }),
    ...(route.host === undefined ? {} : { host: route.host }),
    paths: route.paths.map((path) => ({
      path: path.path,
      type: path.type,
      regex: path.regex,
      conditions: {
        listeners: route.listeners,
        method: path.method,
        headers: path.headers,
        queryParams: path.queryParams,
      },
      target: {
        policy:
          path.filters === undefined || path.filters.length === 0
            ? policy
            : withPathFilters(policy, path.filters, { ...config.timeouts, ...route.timeouts }),
        destination: pathDestination(route, path),
        service: path.service,
        backends: path.backends === undefined ? undefined : new WeightedBackends(path.backends),
        hits: { requests: 0 },
      },
    })),
  };
}

function defaultTargetOf(
  config: PorticoConfig,
  routeStats: StatsRegistry,
  context: PolicyContext,
): RouteTarget | undefined {
  if (config.defaultService === undefined) return undefined;
  return {
    policy: compileRoutePolicy(undefined, 'default', routeStats.get('default'), context),
    service: config.defaultService,
    backends: undefined,
    destination: config.defaultService,
    hits: { requests: 0 },
  };
}

/** hostOfIssue finds the host of the route an issue is about (`routes[3]...`). */
function hostOfIssue(issue: RouteIssue, compilation: RouteCompilation): string | undefined {
  const index = Number(/^routes\[(\d+)\]/.exec(issue.at)?.[1] ?? -1);
  return compilation.compiled[index]?.host;
}
