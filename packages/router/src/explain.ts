import { hostFromHeader } from './host.ts';
import { matchLength } from './path-table.ts';
import type { RouteTable } from './route-table.ts';
import { describeRule, type Rule } from './rule.ts';

/** Verdict is what happened to one rule for one request. */
export type Verdict = 'matched' | 'shorter' | 'tied' | 'no-match' | 'other-host' | 'conditional';

/** RuleVerdict is one rule's verdict with the reason in words. */
export interface RuleVerdict<T> {
  readonly rule: Rule<T>;
  readonly verdict: Verdict;
  readonly reason: string;
}

/** Explanation says which rule serves a request and why every other rule does not. */
export interface Explanation<T> {
  /** host is the request host as routed: lower case, no port. */
  readonly host: string;
  readonly path: string;
  /** hostSelection says which rules the host selects: `exact`, `wildcard`, `any` (no-host rules) or `none`. */
  readonly hostSelection: 'exact' | 'wildcard' | 'any' | 'none';
  /** hostPattern is the selected host as written in rules, if any. */
  readonly hostPattern: string | undefined;
  /** match is the serving rule (possibly the default), or undefined for a 404. */
  readonly match: Rule<T> | undefined;
  readonly usedDefault: boolean;
  readonly verdicts: readonly RuleVerdict<T>[];
}

/**
 * explain tells which rule of `table` serves `host` + `path` and, for every other rule, why not: another
 * host was selected, it does not match, a longer rule won, an Exact rule won a tie, or it would win but
 * asks for a method, headers or query parameters (explain knows only the host and path). It returns what
 * `table.match` returns for a request without those, so the two never disagree.
 */
export function explain<T>(table: RouteTable<T>, host: string, path: string): Explanation<T> {
  const name = hostFromHeader(host);
  const selection = table.selectHost(host);
  const match = table.match(host, path);
  const selected = new Set(selection.table?.rules() ?? []);
  const winnerLength = match === undefined || !selected.has(match) ? -1 : matchLength(match, path);
  const verdicts: RuleVerdict<T>[] = [];
  for (const rule of table.rules()) {
    if (!selected.has(rule)) {
      verdicts.push({ rule, verdict: 'other-host', reason: otherHostReason(rule, name, selection.pattern) });
      continue;
    }
    if (rule === match) {
      verdicts.push({
        rule,
        verdict: 'matched',
        reason: `${describeRule(rule)} matches ${path} (${winnerLength} characters)`,
      });
      continue;
    }
    const length = matchLength(rule, path);
    if (length < 0) {
      verdicts.push({ rule, verdict: 'no-match', reason: noMatchReason(rule, path) });
    } else if (rule.conditions !== undefined && length >= winnerLength) {
      verdicts.push({
        rule,
        verdict: 'conditional',
        reason: `matches ${length} characters, and serves only requests with ${rule.conditions.describe()}`,
      });
    } else if (length < winnerLength) {
      verdicts.push({
        rule,
        verdict: 'shorter',
        reason: `matches only ${length} characters; ${match!.path} matches ${winnerLength}`,
      });
    } else {
      verdicts.push({
        rule,
        verdict: 'tied',
        reason: `matches ${length} characters too; ${match!.type} ${match!.path} wins the tie (Exact, then Prefix, then regex)`,
      });
    }
  }
  return {
    host: name,
    path,
    hostSelection: selection.kind,
    hostPattern: selection.pattern,
    match,
    usedDefault: match !== undefined && match === table.defaultRule,
    verdicts,
  };
}

function otherHostReason(rule: Rule<unknown>, host: string, pattern: string | undefined): string {
  if (rule.host === undefined)
    return `rules without a host apply only to hosts no rule names; ${host} selects ${pattern}`;
  if (rule.host.startsWith('*.')) {
    const suffix = rule.host.slice(1);
    if (host.endsWith(suffix) && host.indexOf('.') === host.length - suffix.length) {
      return `${rule.host} matches too, but the exact host ${pattern} wins`;
    }
    if (host.endsWith(suffix)) return `${rule.host} covers exactly one label, not ${host}`;
  }
  return `host ${rule.host} is not ${host}`;
}

function noMatchReason(rule: Rule<unknown>, path: string): string {
  if (rule.regex !== undefined) return `regex ${rule.path} does not match the start of ${path}`;
  if (rule.type === 'Exact')
    return `Exact ${rule.path} needs the whole path to be ${rule.path} (case-sensitive)`;
  return `Prefix ${rule.path} matches whole path segments only, and ${path} is not under it`;
}
