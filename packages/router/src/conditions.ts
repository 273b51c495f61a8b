/** MatchInput is what request conditions read of a request; names are lower case. */
export interface MatchInput {
  /** listener is the name of the listener the request came in on. */
  readonly listener: string;
  readonly method: string;
  header(name: string): string | undefined;
  query(name: string): string | undefined;
}

/** ValueMatch matches one header or query parameter: its exact value, or a regular expression (whole value). */
export interface ValueMatch {
  readonly name: string;
  readonly value: string;
  readonly type?: 'Exact' | 'RegularExpression';
}

/** ConditionSpec is what a path rule asks of a request besides its path (the Gateway API's HTTPRouteMatch). */
export interface ConditionSpec {
  /** listeners are the listeners (by name) the rule serves on (a Gateway API parentRef's sectionName). */
  readonly listeners?: readonly string[] | undefined;
  readonly method?: string | undefined;
  readonly headers?: readonly ValueMatch[] | undefined;
  readonly queryParams?: readonly ValueMatch[] | undefined;
}

interface CompiledMatch {
  readonly name: string;
  readonly value: string;
  readonly regex: RegExp | undefined;
}

/** MAX_VALUE_REGEX_LENGTH bounds a header or query regular expression. */
const MAX_VALUE_REGEX_LENGTH = 1_024;

/**
 * Conditions are a rule's compiled request conditions: all must hold (the listener, method, every header,
 * every query parameter). Header names compare case-insensitively, values exactly (or by a regular
 * expression that must match the whole value). `key` is their canonical form (two rules with the same
 * path and key collide); `compare` orders rules as the Gateway API does for one path: a method first,
 * then more header matches, then more query parameter matches; a rule kept to some listeners goes before
 * one that serves on all of them.
 */
export class Conditions {
  readonly listeners: ReadonlySet<string> | undefined;
  readonly method: string | undefined;
  readonly headers: readonly CompiledMatch[];
  readonly queryParams: readonly CompiledMatch[];
  readonly key: string;

  private constructor(
    listeners: ReadonlySet<string> | undefined,
    method: string | undefined,
    headers: CompiledMatch[],
    queryParams: CompiledMatch[],
  ) {
    this.listeners = listeners;
    this.method = method;
    this.headers = headers;
    this.queryParams = queryParams;
    const part = (m: CompiledMatch) => `${m.name}${m.regex === undefined ? '=' : '~'}${m.value}`;
    this.key = JSON.stringify([
      listeners === undefined ? [] : [...listeners].sort(),
      method ?? '',
      headers.map(part).sort(),
      queryParams.map(part).sort(),
    ]);
  }

  /** compile checks `spec` and returns its conditions, undefined for none, or what is wrong with it. */
  static compile(spec: ConditionSpec | undefined): Conditions | undefined | string {
    if (spec === undefined) return undefined;
    const headers: CompiledMatch[] = [];
    const queryParams: CompiledMatch[] = [];
    for (const [list, out, what, lower] of [
      [spec.headers ?? [], headers, 'header', true],
      [spec.queryParams ?? [], queryParams, 'query parameter', false],
    ] as const) {
      for (const match of list) {
        let regex: RegExp | undefined;
        if (match.type === 'RegularExpression') {
          if (match.value.length > MAX_VALUE_REGEX_LENGTH)
            return `${what} ${match.name}: regular expression longer than ${MAX_VALUE_REGEX_LENGTH} characters`;
          try {
            regex = new RegExp(`^(?:${match.value})$`);
          } catch (error) {
            return `${what} ${match.name}: "${match.value}" is not a valid regular expression: ${(error as Error).message}`;
          }
        }
        out.push({ name: lower ? match.name.toLowerCase() : match.name, value: match.value, regex });
      }
    }
    const listeners =
      spec.listeners === undefined || spec.listeners.length === 0 ? undefined : new Set(spec.listeners);
    if (
      listeners === undefined &&
      spec.method === undefined &&
      headers.length === 0 &&
      queryParams.length === 0
    )
      return undefined;
    return new Conditions(listeners, spec.method, headers, queryParams);
  }

  /** test tells whether `input` meets every condition. */
  test(input: MatchInput): boolean {
    if (this.listeners !== undefined && !this.listeners.has(input.listener)) return false;
    if (this.method !== undefined && input.method !== this.method) return false;
    for (const m of this.headers) if (!holds(m, input.header(m.name))) return false;
    for (const m of this.queryParams) if (!holds(m, input.query(m.name))) return false;
    return true;
  }

  /**
   * describe renders the conditions for messages: `listener web, GET, header x-canary=always, query v~[0-9]+`.
   */
  describe(): string {
    const parts: string[] = [];
    if (this.listeners !== undefined) parts.push(`listener ${[...this.listeners].join('|')}`);
    if (this.method !== undefined) parts.push(this.method);
    for (const m of this.headers)
      parts.push(`header ${m.name}${m.regex === undefined ? '=' : '~'}${m.value}`);
    for (const m of this.queryParams)
      parts.push(`query ${m.name}${m.regex === undefined ? '=' : '~'}${m.value}`);
    return parts.join(', ');
  }
}

function holds(match: CompiledMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  return match.regex === undefined ? value === match.value : match.regex.test(value);
}

/**
 * compareConditions orders two rules of the same path by the Gateway API's precedence: negative when `a`
 * goes first. A rule with conditions goes before one without.
 */
export function compareConditions(a: Conditions | undefined, b: Conditions | undefined): number {
  const score = (c: Conditions | undefined): [number, number, number, number] =>
    c === undefined
      ? [0, 0, 0, 0]
      : [
          c.method === undefined ? 0 : 1,
          c.headers.length,
          c.queryParams.length,
          c.listeners === undefined ? 0 : 1,
        ];
  const [am, ah, aq, al] = score(a);
  const [bm, bh, bq, bl] = score(b);
  return bm - am || bh - ah || bq - aq || bl - al;
}
