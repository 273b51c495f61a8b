import type {
  HeaderRulesConfig,
  HstsConfig,
  LimitsConfig,
  RedirectConfig,
  RouteConfig,
  TimeoutsConfig,
} from '@portico/config';
import type { TrafficStats } from './traffic-stats.ts';

/** HeaderRules are a route's header changes, compiled: names to drop, and lines to add. */
export interface HeaderRules {
  /** drop holds the lower-case names of the message's own fields removed or replaced (`remove` and `set`). */
  readonly drop: ReadonlySet<string>;
  /** lines are the `set` and `add` fields rendered as field lines, each ending in CRLF. */
  readonly lines: string;
  /**
   * managed holds the lower-case names of fields Portico writes itself (forwarding fields, `Via`,
   * `X-Request-Id`, `Strict-Transport-Security`) that the rules set or remove: Portico then leaves them out.
   */
  readonly managed: ReadonlySet<string>;
  /** host is the Host sent upstream instead of the client's (`set: { host }` on request rules). */
  readonly host: string | undefined;
}

/** MANAGED_REQUEST_FIELDS are the request fields Portico writes that a route's rules may replace or remove. */
const MANAGED_REQUEST_FIELDS = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'forwarded',
  'via',
  'x-request-id',
]);

/** MANAGED_RESPONSE_FIELDS are the response fields Portico writes that a route's rules may replace or remove. */
const MANAGED_RESPONSE_FIELDS = new Set(['via', 'strict-transport-security']);

/**
 * RoutePolicy is what a route decides besides its service: timeouts, body limit, rewrite, redirect and
 * header changes. Built once per snapshot and shared by the route's paths.
 */
export interface RoutePolicy {
  readonly name: string;
  /** stats are the route's response counts and latencies, kept by name across config changes. */
  readonly stats: TrafficStats;
  readonly timeouts: TimeoutsConfig;
  /** maxBodyBytes is the largest request body, 0 for no limit. */
  readonly maxBodyBytes: number;
  readonly rewriteTarget: string | undefined;
  readonly redirect: RedirectConfig | undefined;
  /** httpsRedirect sends requests that came over plain HTTP to HTTPS. */
  readonly httpsRedirect: boolean;
  /** hstsLine is the `strict-transport-security` field line added to responses over HTTPS. */
  readonly hstsLine: string | undefined;
  readonly requestHeaders: HeaderRules | undefined;
  readonly responseHeaders: HeaderRules | undefined;
}

/** compileRoutePolicy merges a route's settings over the global timeouts and limits. */
export function compileRoutePolicy(
  route: RouteConfig | undefined,
  name: string,
  timeouts: TimeoutsConfig,
  limits: LimitsConfig,
  stats: TrafficStats,
): RoutePolicy {
  return {
    name,
    stats,
    timeouts: route?.timeouts === undefined ? timeouts : { ...timeouts, ...route.timeouts },
    maxBodyBytes: route?.maxBodyBytes ?? limits.maxBodyBytes,
    rewriteTarget: route?.rewriteTarget,
    redirect: route?.redirect,
    httpsRedirect: route?.httpsRedirect ?? false,
    hstsLine: route?.hsts === undefined ? undefined : hstsLine(route.hsts),
    requestHeaders: compileHeaderRules(route?.requestHeaders, MANAGED_REQUEST_FIELDS),
    responseHeaders: compileHeaderRules(route?.responseHeaders, MANAGED_RESPONSE_FIELDS),
  };
}

/** hstsLine renders a Strict-Transport-Security field line (RFC 6797). */
function hstsLine(hsts: HstsConfig): string {
  let value = `max-age=${hsts.maxAgeSeconds}`;
  if (hsts.includeSubDomains) value += '; includeSubDomains';
  if (hsts.preload) value += '; preload';
  return `strict-transport-security: ${value}\r\n`;
}

function compileHeaderRules(
  rules: HeaderRulesConfig | undefined,
  managedFields: ReadonlySet<string>,
): HeaderRules | undefined {
  if (rules === undefined) return undefined;
  const drop = new Set<string>();
  const managed = new Set<string>();
  let host: string | undefined;
  const replaced = (name: string) => {
    drop.add(name);
    if (managedFields.has(name)) managed.add(name);
  };
  for (const name of rules.remove ?? []) replaced(name.toLowerCase());
  let lines = '';
  for (const [name, value] of Object.entries(rules.set ?? {})) {
    const lower = name.toLowerCase();
    replaced(lower);
    if (lower === 'host') host = value;
    else lines += `${name}: ${value}\r\n`;
  }
  for (const [name, value] of Object.entries(rules.add ?? {})) lines += `${name}: ${value}\r\n`;
  return { drop, lines, managed, host };
}
