import { type HostPattern, hostFromHeader, parseHostPattern } from './host.ts';
import { checkRulePath, type PathType, prefixKey } from './path.ts';

/** PathSpec is one path of a route: what it matches and where it sends requests. */
export interface PathSpec<T> {
  readonly path: string;
  readonly type: PathType;
  readonly target: T;
}

/** RouteSpec is one rule: an optional host (exact or `*.example.com`) and its paths. */
export interface RouteSpec<T> {
  /** name identifies the route in logs, metrics and `explain`; defaults to `routes[i]`. */
  readonly name?: string;
  /** host is omitted (or empty) for a rule that matches every host not matched otherwise. */
  readonly host?: string;
  readonly paths: readonly PathSpec<T>[];
}

/** Rule is one compiled path rule, as `match` returns it. */
export interface Rule<T> {
  /** id locates the rule in the specs: `routes[2].paths[0]`. */
  readonly id: string;
  /** routeName is the route's name, or `routes[i]`. */
  readonly routeName: string;
  /** host is the rule's host in lower case, or undefined for any host. */
  readonly host: string | undefined;
  readonly path: string;
  readonly type: PathType;
  readonly target: T;
}

/** ROUTE_ISSUE_CODES lists every code a `RouteIssue` carries. */
export const ROUTE_ISSUE_CODES = {
  PORTICO_ROUTE_INVALID_HOST: 'A rule host is not a DNS name or a "*." wildcard (a bare "*", an IP, a port).',
  PORTICO_ROUTE_INVALID_PATH:
    'A rule path is not absolute or holds "//", "/./", "/../", "%2f", "?", "#" or controls.',
  PORTICO_ROUTE_DUPLICATE: 'A rule repeats an earlier one (same host, path and type) and can never match.',
} as const;

export type RouteIssueCode = keyof typeof ROUTE_ISSUE_CODES;

/** RouteIssue is a problem found while compiling: errors drop the rule, warnings keep it. */
export interface RouteIssue {
  readonly code: RouteIssueCode;
  readonly severity: 'error' | 'warning';
  /** at locates the rule: `routes[2].paths[0]`, or `routes[2].host`. */
  readonly at: string;
  readonly message: string;
}

/** RouteTableOptions are the options of `compileRouteTable`. */
export interface RouteTableOptions<T> {
  /** defaultTarget serves requests no rule matches; without it `match` returns undefined (404). */
  readonly defaultTarget?: T;
}

/** PathTable holds the rules of one host pattern: exact paths and element-wise prefixes. */
class PathTable<T> {
  readonly exact = new Map<string, Rule<T>>();
  readonly prefix = new Map<string, Rule<T>>();
  /** prefixLengths[n] is 1 when some prefix key has length n, so lookups skip lengths no rule has. */
  prefixLengths = new Uint8Array(1);
  root: Rule<T> | undefined;

  add(rule: Rule<T>): Rule<T> | undefined {
    if (rule.type === 'Exact') {
      const existing = this.exact.get(rule.path);
      if (existing) return existing;
      this.exact.set(rule.path, rule);
      return undefined;
    }
    const key = prefixKey(rule.path);
    if (key === '') {
      if (this.root) return this.root;
      this.root = rule;
      return undefined;
    }
    const existing = this.prefix.get(key);
    if (existing) return existing;
    this.prefix.set(key, rule);
    if (key.length >= this.prefixLengths.length) {
      const grown = new Uint8Array(key.length + 1);
      grown.set(this.prefixLengths);
      this.prefixLengths = grown;
    }
    this.prefixLengths[key.length] = 1;
    return undefined;
  }

  match(path: string): Rule<T> | undefined {
    const exact = this.exact.size === 0 ? undefined : this.exact.get(path);
    if (exact) return exact;
    if (this.prefix.size > 0) {
      const lengths = this.prefixLengths;
      let end = path.length;
      if (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
      while (end > 0) {
        if (end < lengths.length && lengths[end] === 1) {
          const rule = this.prefix.get(end === path.length ? path : path.slice(0, end));
          if (rule) return rule;
        }
        end = path.lastIndexOf('/', end - 1);
      }
    }
    return this.root;
  }

  rules(): Rule<T>[] {
    return [...this.exact.values(), ...this.prefix.values(), ...(this.root ? [this.root] : [])];
  }
}

/**
 * RouteTable is an immutable set of host and path rules with Kubernetes Ingress v1 semantics: the host
 * is chosen first (exact beats `*.wildcard`, which beats rules without a host), then the longest matching
 * path of that host wins, `Exact` before `Prefix` on equal length. Build it with `compileRouteTable`.
 */
export class RouteTable<T> {
  readonly #exact = new Map<string, PathTable<T>>();
  readonly #wildcard = new Map<string, PathTable<T>>();
  #any: PathTable<T> | undefined;
  readonly #defaultRule: Rule<T> | undefined;

  /** @internal Use `compileRouteTable`. */
  constructor(defaultTarget: T | undefined) {
    this.#defaultRule =
      defaultTarget === undefined
        ? undefined
        : {
            id: 'default',
            routeName: 'default',
            host: undefined,
            path: '/',
            type: 'Prefix',
            target: defaultTarget,
          };
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
    const map = pattern.kind === 'exact' ? this.#exact : this.#wildcard;
    const key = pattern.kind === 'exact' ? pattern.name : pattern.suffix;
    let table = map.get(key);
    if (!table) {
      table = new PathTable<T>();
      map.set(key, table);
    }
    return table;
  }

  /**
   * match returns the rule for a request, or undefined when nothing (not even a default) matches. `host`
   * is the Host header as sent (port and case are ignored); `path` is the path without its query.
   */
  match(host: string, path: string): Rule<T> | undefined {
    const table = this.#hostTable(hostFromHeader(host));
    return (table === undefined ? undefined : table.match(path)) ?? this.#defaultRule;
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
    return this.#any;
  }

  /** rules lists every compiled rule, hosts in insertion order. */
  rules(): Rule<T>[] {
    const out: Rule<T>[] = [];
    for (const table of this.#exact.values()) out.push(...table.rules());
    for (const table of this.#wildcard.values()) out.push(...table.rules());
    if (this.#any) out.push(...this.#any.rules());
    return out;
  }

  /** defaultRule is the rule serving unmatched requests, if a default target was given. */
  get defaultRule(): Rule<T> | undefined {
    return this.#defaultRule;
  }
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
  specs.forEach((spec, i) => {
    const routeName = spec.name ?? `routes[${i}]`;
    const pattern = parseHostPattern(spec.host);
    if (typeof pattern === 'string') {
      issues.push({
        code: 'PORTICO_ROUTE_INVALID_HOST',
        severity: 'error',
        at: `routes[${i}].host`,
        message: pattern,
      });
      return;
    }
    spec.paths.forEach((pathSpec, j) => {
      const id = `routes[${i}].paths[${j}]`;
      const problem = checkRulePath(pathSpec.path);
      if (problem) {
        issues.push({
          code: 'PORTICO_ROUTE_INVALID_PATH',
          severity: 'error',
          at: `${id}.path`,
          message: problem,
        });
        return;
      }
      const host = pattern.kind === 'any' ? undefined : (spec.host?.toLowerCase() ?? undefined);
      const rule: Rule<T> = {
        id,
        routeName,
        host,
        path: pathSpec.path,
        type: pathSpec.type,
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
  return { table, issues };
}

function describeRule(rule: Rule<unknown>): string {
  return `${rule.type} ${rule.path} on ${rule.host ?? 'any host'}`;
}
