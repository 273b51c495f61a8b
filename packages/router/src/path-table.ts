import { compareConditions, type MatchInput } from './conditions.ts';
import { prefixKey } from './path.ts';
import type { Rule } from './rule.ts';

/**
 * PathTable holds the rules of one host pattern: exact paths in a map, element-wise prefixes in a map
 * keyed by their normalised form (looked up only at lengths some prefix has), and regular expressions
 * (opt-in `ImplementationSpecific`) tried in order. The longest match wins; on equal length Exact beats
 * Prefix, which beats a regular expression.
 */
export class PathTable<T> {
  /**
   * Each key holds the rules of one path (a `Slot`): the rule itself when it is alone, as nearly every
   * path is, or a list, most specific conditions first (`compareConditions`).
   */
  readonly exact = new Map<string, Slot<T>>();
  readonly prefix = new Map<string, Slot<T>>();
  /** regexes holds the rules of each expression, in the order expressions were added. */
  readonly regexes: Rule<T>[][] = [];
  /** prefixLengths[n] is 1 when some prefix key has length n. */
  prefixLengths = new Uint8Array(1);
  /** root holds the `Prefix /` rules, which match every path with length 0. */
  root: Slot<T> | undefined;

  /**
   * add stores a rule and returns undefined, or the earlier rule it collides with (the same path, type
   * and conditions; then it is not stored).
   */
  add(rule: Rule<T>): Rule<T> | undefined {
    if (rule.regex !== undefined) {
      const group = this.regexes.find((g) => g[0]!.path === rule.path);
      if (group === undefined) {
        this.regexes.push([rule]);
        return undefined;
      }
      return insert(group, rule);
    }
    if (rule.type === 'Exact') return this.#addTo(this.exact, rule.path, rule);
    const key = prefixKey(rule.path);
    if (key === '') {
      if (this.root === undefined) {
        this.root = rule;
        return undefined;
      }
      const group = Array.isArray(this.root) ? this.root : [this.root];
      const collision = insert(group, rule);
      this.root = group;
      return collision;
    }
    const collision = this.#addTo(this.prefix, key, rule);
    if (key.length >= this.prefixLengths.length) {
      const grown = new Uint8Array(key.length + 1);
      grown.set(this.prefixLengths);
      this.prefixLengths = grown;
    }
    this.prefixLengths[key.length] = 1;
    return collision;
  }

  #addTo(map: Map<string, Slot<T>>, key: string, rule: Rule<T>): Rule<T> | undefined {
    const slot = map.get(key);
    if (slot === undefined) {
      map.set(key, rule);
      return undefined;
    }
    const group = Array.isArray(slot) ? slot : [slot];
    const collision = insert(group, rule);
    map.set(key, group);
    return collision;
  }

  /**
   * match returns the rule for `path`: the longest match wins (Exact before Prefix of the same length,
   * then a regular expression); among the rules of one path, the first whose conditions `input` meets.
   * When no rule of the longest match accepts the request, shorter matches are tried. Without `input`
   * only rules without conditions match.
   */
  match(path: string, input?: MatchInput): Rule<T> | undefined {
    if (this.exact.size > 0) {
      const exact = accepting(this.exact.get(path), input);
      if (exact) return exact;
    }
    const prefix = this.#longestPrefix(path, input);
    if (this.regexes.length === 0) return prefix;
    let best = prefix;
    let bestLength = prefix === undefined ? -1 : prefixKey(prefix.path).length;
    for (const group of this.regexes) {
      const found = group[0]!.regex!.exec(path);
      if (found === null || found[0].length <= bestLength) continue;
      const rule = accepting(group, input);
      if (rule) {
        best = rule;
        bestLength = found[0].length;
      }
    }
    return best;
  }

  #longestPrefix(path: string, input: MatchInput | undefined): Rule<T> | undefined {
    if (this.prefix.size > 0) {
      const lengths = this.prefixLengths;
      let end = path.length;
      if (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
      // No prefix is longer than the longest key: start at the last segment boundary within it.
      if (end >= lengths.length) end = path.lastIndexOf('/', lengths.length - 1);
      while (end > 0) {
        if (end < lengths.length && lengths[end] === 1) {
          const rule = accepting(this.prefix.get(end === path.length ? path : path.slice(0, end)), input);
          if (rule) return rule;
        }
        end = path.lastIndexOf('/', end - 1);
      }
    }
    return accepting(this.root, input);
  }

  rules(): Rule<T>[] {
    return [
      ...[...this.exact.values()].flat(),
      ...[...this.prefix.values()].flat(),
      ...(this.root === undefined ? [] : [this.root].flat()),
      ...this.regexes.flat(),
    ];
  }
}

/** Slot is what one path holds: a lone rule, or several ordered by their conditions. */
type Slot<T> = Rule<T> | Rule<T>[];

/** accepting returns the first rule of `slot` whose conditions `input` meets (none: always). */
function accepting<T>(slot: Slot<T> | undefined, input: MatchInput | undefined): Rule<T> | undefined {
  if (slot === undefined) return undefined;
  if (!Array.isArray(slot)) {
    const conditions = slot.conditions;
    return conditions === undefined || (input !== undefined && conditions.test(input)) ? slot : undefined;
  }
  const group = slot;
  for (let i = 0; i < group.length; i++) {
    const rule = group[i]!;
    const conditions = rule.conditions;
    if (conditions === undefined || (input !== undefined && conditions.test(input))) return rule;
  }
  return undefined;
}

/** insert puts `rule` into `group` by precedence, after the rules it ties with, or returns the one it repeats. */
function insert<T>(group: Rule<T>[], rule: Rule<T>): Rule<T> | undefined {
  const key = rule.conditions?.key;
  const existing = group.find((r) => r.conditions?.key === key);
  if (existing !== undefined) return existing;
  let at = group.length;
  while (at > 0 && compareConditions(rule.conditions, group[at - 1]!.conditions) < 0) at--;
  group.splice(at, 0, rule);
  return undefined;
}

/**
 * matchLength tells how much of `path` a rule matches on its own, or -1 when it does not: the whole path
 * for Exact, the prefix for Prefix, the matched text for a regular expression.
 */
export function matchLength(rule: Rule<unknown>, path: string): number {
  if (rule.regex !== undefined) {
    const found = rule.regex.exec(path);
    return found === null ? -1 : found[0].length;
  }
  if (rule.type === 'Exact') return path === rule.path ? path.length : -1;
  const key = prefixKey(rule.path);
  if (key === '' || path === key || (path.startsWith(key) && path.charCodeAt(key.length) === 0x2f))
    return key.length;
  return -1;
}
