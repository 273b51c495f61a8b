import { hostFromHeader, parseHostPattern } from './host.ts';

/**
 * HostnameList holds the hostnames a listener serves (a Gateway API listener's `hostname`): exact names,
 * and wildcards `*.example.com` that match any name ending in `.example.com` (one label or more, as the
 * Gateway API says; not `example.com` itself). Build it with `HostnameList.compile`.
 */
export class HostnameList {
  readonly #exact: ReadonlySet<string>;
  /** #suffixes are the wildcards' suffixes with their dot: `.example.com`. */
  readonly #suffixes: readonly string[];

  private constructor(exact: ReadonlySet<string>, suffixes: readonly string[]) {
    this.#exact = exact;
    this.#suffixes = suffixes;
  }

  /** compile checks each hostname as a route host is checked and returns the list, or what is wrong. */
  static compile(hostnames: readonly string[]): HostnameList | string {
    const exact = new Set<string>();
    const suffixes: string[] = [];
    for (const hostname of hostnames) {
      const pattern = parseHostPattern(hostname);
      if (typeof pattern === 'string') return pattern;
      if (pattern.kind === 'exact') exact.add(pattern.name);
      else if (pattern.kind === 'wildcard' || pattern.kind === 'suffix') suffixes.push(`.${pattern.suffix}`);
      else return 'a hostname must not be empty';
    }
    return new HostnameList(exact, suffixes);
  }

  /** matches tells whether a request's Host (port and case ignored) is one of the list's names. */
  matches(host: string): boolean {
    const name = hostFromHeader(host);
    if (this.#exact.has(name)) return true;
    for (const suffix of this.#suffixes)
      if (name.length > suffix.length && name.endsWith(suffix)) return true;
    return false;
  }
}
