import type {
  LimitsConfig,
  PathFilterConfig,
  PorticoConfig,
  RedirectConfig,
  RouteConfig,
  TimeoutsConfig,
} from '@portico/config';
import type { Dispatcher } from 'undici';
import { ErrorPages } from './pipeline/error-pages.ts';
import { chainOf, type Filter, type FilterChain } from './pipeline/filter.ts';
import { AccessListFilter } from './pipeline/filters/access-list-filter.ts';
import { BasicAuthFilter } from './pipeline/filters/basic-auth-filter.ts';
import { BodyLimitFilter } from './pipeline/filters/body-limit-filter.ts';
import { CompressionFilter } from './pipeline/filters/compression-filter.ts';
import { CorsFilter } from './pipeline/filters/cors-filter.ts';
import { ForwardAuthFilter } from './pipeline/filters/forward-auth-filter.ts';
import { GlobalRateLimitFilter } from './pipeline/filters/global-rate-limit-filter.ts';
import { RequestHeadersFilter, ResponseHeadersFilter } from './pipeline/filters/header-rules-filter.ts';
import { HstsFilter } from './pipeline/filters/hsts-filter.ts';
import { HttpsRedirectFilter } from './pipeline/filters/https-redirect-filter.ts';
import { InFlightFilter } from './pipeline/filters/in-flight-filter.ts';
import { MirrorFilter } from './pipeline/filters/mirror-filter.ts';
import { RateLimitFilter } from './pipeline/filters/rate-limit-filter.ts';
import { RedirectFilter } from './pipeline/filters/redirect-filter.ts';
import { RetriesFilter } from './pipeline/filters/retries-filter.ts';
import { RewriteTargetFilter } from './pipeline/filters/rewrite-target-filter.ts';
import { RouteTimeoutsFilter } from './pipeline/filters/route-timeouts-filter.ts';
import { UrlRewriteFilter } from './pipeline/filters/url-rewrite-filter.ts';
import type { GlobalRateLimits } from './rate-limit/global-rate-limits.ts';
import { TrafficStats } from './traffic-stats.ts';

/**
 * RoutePolicy is what a route decides besides its service: its filters, compiled once per snapshot and
 * shared by the route's paths, and its traffic statistics.
 */
export interface RoutePolicy {
  readonly name: string;
  /** stats are the route's response counts and latencies, kept by name across config changes. */
  readonly stats: TrafficStats;
  /** filters are the route's policies in phase order; an empty chain costs a request nothing. */
  readonly filters: FilterChain;
  /** errorPages are the route's custom error pages, if it has any (before the proxy's own). */
  readonly errorPages?: ErrorPages | undefined;
}

/** PolicyContext is what every route's filters are compiled with besides the route itself. */
export interface PolicyContext {
  readonly timeouts: TimeoutsConfig;
  readonly limits: LimitsConfig;
  /** toHttps is where an HTTPS redirect sends requests. */
  readonly toHttps: RedirectConfig;
  /** globalLimits count `global` rate limits in the shared store; without them such limits count locally. */
  readonly globalLimits?: GlobalRateLimits | undefined;
  /** authDispatcher sends forward-auth requests (undici's global dispatcher when undefined). */
  readonly authDispatcher?: (() => Dispatcher) | undefined;
}

/**
 * compileRoutePolicy turns a route's settings into its filters, in the order the pipeline runs them:
 * request (access list, rate limit, in-flight limit, basic auth, CORS preflight, HTTPS redirect,
 * redirect, timeouts, body limit, mirror), then forward auth (asynchronous, before anything goes
 * upstream), upstream request (forward auth's headers, rewrite, header rules), response (HSTS, header
 * rules, compression).
 */
export function compileRoutePolicy(
  route: RouteConfig | undefined,
  name: string,
  stats: TrafficStats,
  context: PolicyContext,
): RoutePolicy {
  const { timeouts, limits, toHttps, globalLimits } = context;
  const filters: Filter[] = [];
  if (route !== undefined) {
    // Who may come, and how often, before anything else is done for them.
    if (route.access !== undefined) filters.push(new AccessListFilter(route.access));
    const rateLimit = route.rateLimit;
    if (rateLimit !== undefined)
      filters.push(
        rateLimit.global && globalLimits !== undefined
          ? new GlobalRateLimitFilter(rateLimit, name, globalLimits)
          : new RateLimitFilter(rateLimit),
      );
    if (route.inFlight !== undefined) filters.push(new InFlightFilter(route.inFlight));
    if (route.basicAuth !== undefined) filters.push(new BasicAuthFilter(route.basicAuth));
    if (route.forwardAuth !== undefined)
      filters.push(new ForwardAuthFilter(route.forwardAuth, context.authDispatcher));
    if (route.cors !== undefined) filters.push(new CorsFilter(route.cors));
    if (route.httpsRedirect === true) filters.push(new HttpsRedirectFilter(toHttps));
    if (route.redirect !== undefined) filters.push(new RedirectFilter(route.redirect));
    if (route.timeouts !== undefined)
      filters.push(new RouteTimeoutsFilter({ ...timeouts, ...route.timeouts }));
    if (route.maxBodyBytes !== undefined && route.maxBodyBytes !== limits.maxBodyBytes)
      filters.push(new BodyLimitFilter(route.maxBodyBytes));
    if (route.retries !== undefined) filters.push(new RetriesFilter(route.retries.attempts));
    if (route.mirror !== undefined) filters.push(new MirrorFilter(route.mirror));
    if (route.rewriteTarget !== undefined) filters.push(new RewriteTargetFilter(route.rewriteTarget));
    if (route.rewrite !== undefined) filters.push(new UrlRewriteFilter(route.rewrite));
    if (route.requestHeaders !== undefined) filters.push(new RequestHeadersFilter(route.requestHeaders));
    const responseRules =
      route.responseHeaders === undefined ? undefined : new ResponseHeadersFilter(route.responseHeaders);
    if (route.hsts !== undefined && responseRules?.rules.managed.has('strict-transport-security') !== true)
      filters.push(new HstsFilter(route.hsts));
    if (responseRules !== undefined) filters.push(responseRules);
    if (route.compression !== undefined) filters.push(new CompressionFilter(route.compression));
  }
  const errorPages =
    route?.errorPages === undefined
      ? undefined
      : ErrorPages.compile(route.errorPages, context.authDispatcher);
  return { name, stats, filters: chainOf(filters), errorPages };
}

/**
 * withPathFilters returns the policy of a path that has filters of its own (`paths[].filters`): the
 * route's filters, then the path's in the order listed. Timeouts a path sets apply over its route's.
 */
export function withPathFilters(
  policy: RoutePolicy,
  path: readonly PathFilterConfig[],
  routeTimeouts: TimeoutsConfig,
): RoutePolicy {
  const own = path.map((entry) => pathFilter(entry, routeTimeouts));
  return { ...policy, filters: chainOf([...policy.filters.all, ...own]) };
}

/** pathFilter compiles one entry of `paths[].filters`, which names exactly one filter. */
function pathFilter(entry: PathFilterConfig, routeTimeouts: TimeoutsConfig): Filter {
  if (entry.requestHeaders !== undefined) return new RequestHeadersFilter(entry.requestHeaders);
  if (entry.responseHeaders !== undefined) return new ResponseHeadersFilter(entry.responseHeaders);
  if (entry.redirect !== undefined) return new RedirectFilter(entry.redirect);
  if (entry.rewrite !== undefined) return new UrlRewriteFilter(entry.rewrite);
  if (entry.mirror !== undefined) return new MirrorFilter(entry.mirror);
  if (entry.timeouts !== undefined) return new RouteTimeoutsFilter({ ...routeTimeouts, ...entry.timeouts });
  if (entry.retries !== undefined) return new RetriesFilter(entry.retries.attempts);
  throw new Error(`a path filter names none of the filters: ${Object.keys(entry).join(', ')}`);
}

/**
 * pathFilterNames lists the filters a request to `config.routes[route].paths[path]` runs, by name, in the
 * order it runs them, as the proxy compiles them: for `portico explain`.
 */
export function pathFilterNames(config: PorticoConfig, route: number, path: number): string[] {
  const routeConfig = config.routes[route]!;
  let policy = compileRoutePolicy(routeConfig, routeConfig.name ?? `routes[${route}]`, new TrafficStats(), {
    timeouts: config.timeouts,
    limits: config.limits,
    toHttps: toHttps(config),
  });
  const own = routeConfig.paths[path]?.filters;
  if (own !== undefined && own.length > 0)
    policy = withPathFilters(policy, own, { ...config.timeouts, ...routeConfig.timeouts });
  return policy.filters.all.map((f) => f.name);
}

/** toHttps is where HTTPS redirects go: the first https listener's port unless it is 443 or chosen at bind time. */
export function toHttps(config: PorticoConfig): RedirectConfig {
  const port = config.listeners.find((l) => l.protocol === 'https')?.port;
  return port === undefined || port === 443 || port === 0 ? { scheme: 'https' } : { scheme: 'https', port };
}
