import { type PorticoConfig, pathDestination } from '@portico/config';
import type { RouteSpec } from '@portico/router';

/**
 * routeSpecs turns a config's routes into router specs as the proxy compiles them (host, paths, their
 * request conditions), with each path's destination in words as the target: for `explain` and for the
 * route check that runs before a config is applied.
 */
export function routeSpecs(config: PorticoConfig): RouteSpec<string>[] {
  return config.routes.map((route, i) => ({
    id: `routes[${i}]`,
    ...(route.name === undefined ? {} : { name: route.name }),
    ...(route.host === undefined ? {} : { host: route.host }),
    paths: route.paths.map((p) => ({
      path: p.path,
      type: p.type,
      regex: p.regex,
      conditions: {
        listeners: route.listeners,
        method: p.method,
        headers: p.headers,
        queryParams: p.queryParams,
      },
      target: pathDestination(route, p),
    })),
  }));
}
