import { prefixKey } from './path.ts';
import type { Rule } from './rule.ts';

/**
 * PathTable holds the rules of one host pattern: exact paths in a map, element-wise prefixes in a map
 * keyed by their normalised form (looked up only at lengths some prefix has), and regular expressions
 * (opt-in `ImplementationSpecific`) tried in order. The longest match wins; on equal length Exact beats
 * Prefix, which beats a regular expression.
 */
export class PathTable<T> {
  readonly exact = new Map<string, Rule<T>>();
  readonly prefix = new Map<string, Rule<T>>();
  readonly regexes: Rule<T>[] = [];
  /** prefixLengths[n] is 1 when some prefix key has length n. */
  prefixLengths = new Uint8Array(1);
  /** root is the `Prefix /` rule, which matches every path with length 0. */
  root: Rule<T> | undefined;

  /** add stores a rule and returns undefined, or the earlier rule it collides with (then it is not stored). */
  add(rule: Rule<T>): Rule<T> | undefined {
    if (rule.regex !== undefined) {
      const existing = this.regexes.find((r) => r.path === rule.path);
      if (existing) return existing;
      this.regexes.push(rule);
      return undefined;
    }
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
    const prefix = this.#longestPrefix(path);
    if (this.regexes.length === 0) return prefix;
    let best = prefix;
    let bestLength = prefix === undefined ? -1 : prefixKey(prefix.path).length;
    for (const rule of this.regexes) {
      const found = rule.regex!.exec(path);
      if (found !== null && found[0].length > bestLength) {
        best = rule;
        bestLength = found[0].length;
      }
    }
    return best;
  }

  #longestPrefix(path: string): Rule<T> | undefined {
    if (this.prefix.size > 0) {
      const lengths = this.prefixLengths;
      let end = path.length;
      if (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
      // No prefix is longer than the longest key: start at the last segment boundary within it.
      if (end >= lengths.length) end = path.lastIndexOf('/', lengths.length - 1);
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
    return [
      ...this.exact.values(),
      ...this.prefix.values(),
      ...(this.root ? [this.root] : []),
      ...this.regexes,
    ];
  }
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
