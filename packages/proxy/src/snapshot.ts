import type { LimitsConfig, PorticoConfig, ServiceConfig, TimeoutsConfig } from '@portico/config';
import { compileRouteTable, type RouteIssue, type RouteSpec, type RouteTable } from '@portico/router';
import { RoundRobin } from './balancer/round-robin.ts';
import type { Selector } from './balancer/selector.ts';
import { ForwardingPolicy } from './forwarding-policy.ts';
import { compileRoutePolicy, type RoutePolicy } from './route-policy.ts';
import type { EndpointRegistry } from './upstream/endpoint-registry.ts';
import type { EndpointState } from './upstream/endpoint-state.ts';

/** ServiceRuntime is a service of one snapshot: its endpoints and the selector built over them. */
export interface ServiceRuntime {
  readonly name: string;
  readonly endpoints: readonly EndpointState[];
  readonly selector: Selector;
}

/** RouteTarget is what a matched rule yields: the route's policy and the path's service. */
export interface RouteTarget {
  readonly policy: RoutePolicy;
  readonly service: ServiceRuntime;
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
  readonly services: ReadonlyMap<string, ServiceRuntime>;
  readonly timeouts: TimeoutsConfig;
  readonly limits: LimitsConfig;
  /** routeIssues are the problems found compiling routes; rules with errors were left out. */
  readonly routeIssues: readonly RouteIssue[];
}

/** compileSnapshot builds a snapshot from a validated config, with endpoint state from `registry`. */
export function compileSnapshot(
  config: PorticoConfig,
  registry: EndpointRegistry,
  version: number,
): Snapshot {
  const services = new Map<string, ServiceRuntime>();
  for (const service of config.services) services.set(service.name, compileService(service, registry));
  const specs: RouteSpec<RouteTarget>[] = config.routes.map((route, i) => {
    const policy = compileRoutePolicy(route, route.name ?? `routes[${i}]`, config.timeouts, config.limits);
    return {
      ...(route.name === undefined ? {} : { name: route.name }),
      ...(route.host === undefined ? {} : { host: route.host }),
      paths: route.paths.map((path) => ({
        path: path.path,
        type: path.type,
        regex: path.regex,
        target: { policy, service: services.get(path.service)! },
      })),
    };
  });
  const defaultTarget: RouteTarget | undefined =
    config.defaultService === undefined
      ? undefined
      : {
          policy: compileRoutePolicy(undefined, 'default', config.timeouts, config.limits),
          service: services.get(config.defaultService)!,
        };
  const { table, issues } = compileRouteTable<RouteTarget>(
    specs,
    defaultTarget === undefined ? {} : { defaultTarget },
  );
  return {
    version,
    config,
    routes: table,
    forwarding: new ForwardingPolicy(config.forwarding),
    services,
    timeouts: config.timeouts,
    limits: config.limits,
    routeIssues: issues,
  };
}

function compileService(service: ServiceConfig, registry: EndpointRegistry): ServiceRuntime {
  const weighted = service.endpoints.map((e) => ({
    endpoint: registry.get(e.address, e.port),
    weight: e.weight,
  }));
  return {
    name: service.name,
    endpoints: weighted.map((w) => w.endpoint),
    selector: new RoundRobin(weighted),
  };
}
