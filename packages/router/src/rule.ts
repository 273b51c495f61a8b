import type { ConditionSpec, Conditions } from './conditions.ts';
import type { PathType } from './path.ts';

/** PathSpec is one path of a route: what it matches and where it sends requests. */
export interface PathSpec<T> {
  readonly path: string;
  readonly type: PathType;
  /**
   * regex makes an `ImplementationSpecific` path a regular expression matched from the start of the
   * request path (`^/api/v[0-9]+/`); it competes with the other rules by the length it matches.
   */
  readonly regex?: boolean;
  /** conditions are what the request must also meet: method, headers, query parameters (all of them). */
  readonly conditions?: ConditionSpec | undefined;
  readonly target: T;
}

/** RouteSpec is one rule: an optional host (exact or `*.example.com`) and its paths. */
export interface RouteSpec<T> {
  /** id locates the spec in its source (`routes[3]`, `ingress default/shop`); defaults to `routes[i]`. */
  readonly id?: string;
  /** name identifies the route in logs and metrics; defaults to the id. */
  readonly name?: string;
  /** host is omitted (or empty) for a rule that matches every host not matched otherwise. */
  readonly host?: string;
  readonly paths: readonly PathSpec<T>[];
}

/** Rule is one compiled path rule, as `match` returns it. */
export interface Rule<T> {
  /** id locates the rule in the specs: `routes[2].paths[0]`. */
  readonly id: string;
  /** routeName is the route's name, or its id. */
  readonly routeName: string;
  /** host is the rule's host in lower case, or undefined for any host. */
  readonly host: string | undefined;
  readonly path: string;
  readonly type: PathType;
  /** regex is the compiled expression of a regex rule (anchored at the start), else undefined. */
  readonly regex: RegExp | undefined;
  /** conditions are the rule's request conditions, compiled; undefined when it has none. */
  readonly conditions: Conditions | undefined;
  readonly target: T;
}

/** describeRule renders a rule as `Prefix /api on shop.example` for messages. */
export function describeRule(rule: Rule<unknown>): string {
  const kind = rule.regex === undefined ? rule.type : 'regex';
  const when = rule.conditions === undefined ? '' : ` when ${rule.conditions.describe()}`;
  return `${kind} ${rule.path} on ${rule.host ?? 'any host'}${when}`;
}
