import { Conditions, type MatchInput } from './conditions.ts';
import { type HostPattern, hostFromHeader, parseHostPattern } from './host.ts';
import { LayeredMap } from './layered-map.ts';
import { checkRulePath } from './path.ts';
import { PathTable } from './path-table.ts';
import { describeRule, type RouteSpec, type Rule } from './rule.ts';

/** ROUTE_ISSUE_CODES lists every code a `RouteIssue` carries. */
export const ROUTE_ISSUE_CODES = {
  PORTICO_ROUTE_INVALID_HOST: 'A rule host is not a DNS name or a "*." wildcard (a bare "*", an IP, a port).',
  PORTICO_ROUTE_INVALID_PATH:
    'A rule path is not absolute, holds "//", "/./", "/../", "%2f", "?", "#" or controls, or is a bad regex.',
  PORTICO_ROUTE_DUPLICATE: 'A rule repeats an earlier one (same host, path and type) and can never match.',
  PORTICO_ROUTE_INVALID_MATCH:
    'A rule header or query parameter match is not a valid regular expression, or is too long.',
} as const;

export type RouteIssueCode = keyof typeof ROUTE_ISSUE_CODES;

/** RouteIssue is a problem found while compiling: errors drop the rule, warnings keep it. */
export interface RouteIssue {
  readonly code: RouteIssueCode;
  readonly severity: 'error' | 'warning';
  /** at locates the rule: `routes[2].paths[0].path`, or `routes[2].host`. */
  readonly at: string;
  readonly message: string;
}

/** RouteTableOptions are the options of `compileRouteTable`. */
export interface RouteTableOptions<T> {
  /** defaultTarget serves requests no rule matches; without it `match` returns undefined (404). */
  readonly defaultTarget?: T;
}

/** HostSelection says which host table a request host selects, and why. */
export interface HostSelection<T> {
  readonly kind: 'exact' | 'wildcard' | 'any' | 'none';
  /** pattern is the selected host pattern as written in rules (`*.foo.com`), or undefined. */
  readonly pattern: string | undefined;
  readonly table: PathTable<T> | undefined;
}

/** MAX_REGEX_LENGTH bounds a regex rule, which runs on every request to its host. */
const MAX_REGEX_LENGTH = 1_024;

/**
 * RouteTable is an immutable set of host and path rules with Kubernetes Ingress v1 semantics: the host is
 * chosen first (exact beats `*.wildcard`, which beats rules without a host), then the longest matching
 * path of that host wins, `Exact` before `Prefix` on equal length. There is no fallback from a chosen host
 * to another host's rules: a host with rules but no matching path gets the default (or 404), as nginx's
 * server blocks do. Build it with `compileRouteTable`; derive a changed one with `withHosts`.
 */
export class RouteTable<T> {
  /**
   * #exact, #wildcard and #suffix hold each host's path table by name, by the suffix after `*.` (one
   * label), and by the suffix after `**.` (any number of labels).
   */
  #exact: LayeredMap<string, PathTable<T>>;
  #wildcard: LayeredMap<string, PathTable<T>>;
  #suffix: LayeredMap<string, PathTable<T>>;
  #any: PathTable<T> | undefined;
  readonly #defaultRule: Rule<T> | undefined;
  /** #building holds the host tables `add` makes while a table is built, until `seal`. */
  #building:
    | {
        exact: Map<string, PathTable<T>>;
        wildcard: Map<string, PathTable<T>>;
        suffix: Map<string, PathTable<T>>;
      }
    | undefined;

  /** @internal Use `compileRouteTable`. */
  constructor(defaultTarget: T | undefined, from?: RouteTable<T>) {
    this.#exact = from === undefined ? LayeredMap.from() : from.#exact;
    this.#wildcard = from === undefined ? LayeredMap.from() : from.#wildcard;
    this.#suffix = from === undefined ? LayeredMap.from() : from.#suffix;
    this.#any = from === undefined ? undefined : from.#any;
    this.#defaultRule =
      defaultTarget === undefined
        ? undefined
        : {
            id: 'default',
            routeName: 'default',
            host: undefined,
            path: '/',
            type: 'Prefix',
            regex: undefined,
            conditions: undefined,
            target: defaultTarget,
          };
  }

  /**
   * match returns the rule for a request, or undefined when nothing (not even a default) matches. `host`
   * is the Host header as sent (port and case are ignored); `path` is the path without its query.
   */
  /**
   * match returns the rule serving `path` on `host` (a Host header), or the default rule. `input` lets
   * rules with request conditions (method, headers, query) match; without it only rules without them do.
   */
  match(host: string, path: string, input?: MatchInput): Rule<T> | undefined {
    const table = this.#hostTable(hostFromHeader(host));
    return (table === undefined ? undefined : table.match(path, input)) ?? this.#defaultRule;
  }

  #hostTable(name: string): PathTable<T> | undefined {
    const exact = this.#exact.get(name);
    if (exact) return exact;
    if (this.#wildcard.size > 0) {
      const dot = name.indexOf('.');
      if (dot > 0) {
        const wildcard = this.#wildcard.get(name.slice(dot + 1));
        if (wildcard) return wildcard;
      }
    }
    if (this.#suffix.size > 0) {
      // The longest suffix wins: a.b.example.com tries b.example.com, then example.com, then com.
      for (let dot = name.indexOf('.'); dot > 0; dot = name.indexOf('.', dot + 1)) {
        const suffix = this.#suffix.get(name.slice(dot + 1));
        if (suffix) return suffix;
      }
    }
    return this.#any;
  }

  /** selectHost tells which host table `host` (a Host header) selects, for `explain`. */
  selectHost(host: string): HostSelection<T> {
    const name = hostFromHeader(host);
    const exact = this.#exact.get(name);
    if (exact) return { kind: 'exact', pattern: name, table: exact };
    const dot = name.indexOf('.');
    const suffix = dot > 0 ? name.slice(dot + 1) : undefined;
    const wildcard = suffix === undefined ? undefined : this.#wildcard.get(suffix);
    if (wildcard) return { kind: 'wildcard', pattern: `*.${suffix}`, table: wildcard };
    for (let at = dot; at > 0; at = name.indexOf('.', at + 1)) {
      const table = this.#suffix.get(name.slice(at + 1));
      if (table) return { kind: 'wildcard', pattern: `**.${name.slice(at + 1)}`, table };
    }
    if (this.#any) return { kind: 'any', pattern: undefined, table: this.#any };
    return { kind: 'none', pattern: undefined, table: undefined };
  }

  /** rules lists every compiled rule: exact hosts, then wildcards, then rules without a host. */
  rules(): Rule<T>[] {
    const out: Rule<T>[] = [];
    for (const table of this.#exact.values()) out.push(...table.rules());
    for (const table of this.#wildcard.values()) out.push(...table.rules());
    for (const table of this.#suffix.values()) out.push(...table.rules());
    if (this.#any) out.push(...this.#any.rules());
    return out;
  }

  /** hostCount is the number of distinct host patterns with rules. */
  get hostCount(): number {
    return this.#exact.size + this.#wildcard.size + this.#suffix.size + (this.#any ? 1 : 0);
  }

  /** defaultRule is the rule serving unmatched requests, if a default target was given. */
  get defaultRule(): Rule<T> | undefined {
    return this.#defaultRule;
  }

  /**
   * withHosts returns a new table in which the rules of the host patterns named in `hosts` (as written,
   * `undefined` for rules without a host) are replaced by those `specs` give for them; every other host's
   * rules are shared with this table, not rebuilt. Specs for hosts not in `hosts` are ignored; pass only
   * the specs of those hosts, with their `id`s, and the other hosts cost nothing.
   */
  withHosts(hosts: Iterable<string | undefined>, specs: readonly RouteSpec<T>[]): CompiledRoutes<T> {
    const patterns = new Map<string, HostPattern>();
    for (const host of hosts) {
      const pattern = parseHostPattern(host);
      if (typeof pattern !== 'string') patterns.set(patternKey(pattern), pattern);
    }
    // The touched hosts' tables are built apart, then laid over this table's maps.
    const built = new RouteTable<T>(undefined);
    const issues: RouteIssue[] = [];
    addSpecs(built, specs, issues, (pattern) => patterns.has(patternKey(pattern)));
    const exact: [string, PathTable<T> | undefined][] = [];
    const wildcard: [string, PathTable<T> | undefined][] = [];
    const suffix: [string, PathTable<T> | undefined][] = [];
    const next = new RouteTable<T>(this.#defaultRule?.target, this);
    for (const pattern of patterns.values()) {
      if (pattern.kind === 'any') next.#any = built.#any;
      else if (pattern.kind === 'exact') exact.push([pattern.name, built.#building?.exact.get(pattern.name)]);
      else if (pattern.kind === 'wildcard')
        wildcard.push([pattern.suffix, built.#building?.wildcard.get(pattern.suffix)]);
      else suffix.push([pattern.suffix, built.#building?.suffix.get(pattern.suffix)]);
    }
    if (exact.length > 0) next.#exact = this.#exact.with(exact);
    if (wildcard.length > 0) next.#wildcard = this.#wildcard.with(wildcard);
    if (suffix.length > 0) next.#suffix = this.#suffix.with(suffix);
    return { table: next, issues };
  }

  /** @internal Adds a rule; returns the rule it collides with, if any. */
  add(pattern: HostPattern, rule: Rule<T>): Rule<T> | undefined {
    return this.#tableFor(pattern).add(rule);
  }

  #tableFor(pattern: HostPattern): PathTable<T> {
    if (pattern.kind === 'any') {
      this.#any ??= new PathTable<T>();
      return this.#any;
    }
    this.#building ??= { exact: new Map(), wildcard: new Map(), suffix: new Map() };
    const tables = this.#building[pattern.kind];
    const key = pattern.kind === 'exact' ? pattern.name : pattern.suffix;
    let table = tables.get(key);
    if (!table) {
      table = new PathTable<T>();
      tables.set(key, table);
    }
    return table;
  }

  /** @internal seal ends a build: the host tables `add` made join the table's maps. */
  seal(): this {
    if (this.#building !== undefined) {
      this.#exact = this.#exact.with(this.#building.exact);
      this.#wildcard = this.#wildcard.with(this.#building.wildcard);
      this.#suffix = this.#suffix.with(this.#building.suffix);
      this.#building = undefined;
    }
    return this;
  }
}

function patternKey(pattern: HostPattern): string {
  if (pattern.kind === 'any') return '';
  if (pattern.kind === 'exact') return pattern.name;
  return pattern.kind === 'wildcard' ? `*.${pattern.suffix}` : `**.${pattern.suffix}`;
}

/** CompiledRoutes is the outcome of `compileRouteTable`: the table and what was wrong with the specs. */
export interface CompiledRoutes<T> {
  readonly table: RouteTable<T>;
  readonly issues: readonly RouteIssue[];
}

/**
 * compileRouteTable builds a `RouteTable` from route specs. A rule with an invalid host or path is left
 * out and reported as an error; a rule that repeats an earlier one (same host, and the same path and type
 * after normalisation) can never match and is reported as a warning. Rules from many sources for one host
 * merge into one table; the earlier spec wins a collision.
 */
export function compileRouteTable<T>(
  specs: readonly RouteSpec<T>[],
  options: RouteTableOptions<T> = {},
): CompiledRoutes<T> {
  const table = new RouteTable<T>(options.defaultTarget);
  const issues: RouteIssue[] = [];
  addSpecs(table, specs, issues, () => true);
  return { table: table.seal(), issues };
}

function addSpecs<T>(
  table: RouteTable<T>,
  specs: readonly RouteSpec<T>[],
  issues: RouteIssue[],
  accept: (pattern: HostPattern) => boolean,
): void {
  specs.forEach((spec, i) => {
    const specId = spec.id ?? `routes[${i}]`;
    const pattern = parseHostPattern(spec.host);
    if (typeof pattern === 'string') {
      issues.push({
        code: 'PORTICO_ROUTE_INVALID_HOST',
        severity: 'error',
        at: `${specId}.host`,
        message: pattern,
      });
      return;
    }
    if (!accept(pattern)) return;
    const host = pattern.kind === 'any' ? undefined : spec.host!.toLowerCase();
    spec.paths.forEach((pathSpec, j) => {
      const id = `${specId}.paths[${j}]`;
      const compiled = compilePath(pathSpec.path, pathSpec.type, pathSpec.regex === true);
      if (typeof compiled === 'string') {
        issues.push({
          code: 'PORTICO_ROUTE_INVALID_PATH',
          severity: 'error',
          at: `${id}.path`,
          message: compiled,
        });
        return;
      }
      const conditions = Conditions.compile(pathSpec.conditions);
      if (typeof conditions === 'string') {
        issues.push({ code: 'PORTICO_ROUTE_INVALID_MATCH', severity: 'error', at: id, message: conditions });
        return;
      }
      const rule: Rule<T> = {
        id,
        routeName: spec.name ?? specId,
        host,
        path: pathSpec.path,
        type: pathSpec.type,
        regex: compiled ?? undefined,
        conditions,
        target: pathSpec.target,
      };
      const existing = table.add(pattern, rule);
      if (existing) {
        issues.push({
          code: 'PORTICO_ROUTE_DUPLICATE',
          severity: 'warning',
          at: id,
          message: `never matches: ${describeRule(existing)} (${existing.id}) already serves ${describeRule(rule)}`,
        });
      }
    });
  });
}

/** compilePath checks a rule path and returns its regex (regex rules), null (others), or a problem. */
function compilePath(path: string, type: string, regex: boolean): RegExp | null | string {
  if (!regex) return checkRulePath(path) ?? null;
  if (type !== 'ImplementationSpecific')
    return `"${path}": only ImplementationSpecific paths can be regular expressions`;
  if (!path.startsWith('/')) return `"${path}" must start with "/"`;
  if (path.length > MAX_REGEX_LENGTH) return `regular expression longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    return new RegExp(`^(?:${path})`);
  } catch (error) {
    return `"${path}" is not a valid regular expression: ${(error as Error).message}`;
  }
}
