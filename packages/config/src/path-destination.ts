import type { RouteConfig } from './schema.ts';

type RoutePath = RouteConfig['paths'][number];

/**
 * pathDestination says in a few words where a route path sends requests, for `explain`, `routes` and
 * diffs: the service's name, the weighted backends (`web=90, canary=10`), or for a path with a redirect
 * (its own filter's, else its route's),
 * `redirect 302 to https://{host}/new` (parts the route does not set are the request's, shown in braces).
 */
export function pathDestination(route: RouteConfig, path: RoutePath): string {
  const redirect = path.filters?.find((f) => f.redirect !== undefined)?.redirect ?? route.redirect;
  if (redirect !== undefined && path.service === undefined && path.backends === undefined) {
    const { scheme, host, port, path: to, status } = redirect;
    const where = `${scheme ?? '{scheme}'}://${host ?? '{host}'}${port === undefined ? '' : `:${port}`}${to ?? '{path}'}`;
    return `redirect ${status ?? '301/308'} to ${where}`;
  }
  if (path.backends !== undefined) return path.backends.map((b) => `${b.service}=${b.weight}`).join(', ');
  return path.service ?? '';
}
