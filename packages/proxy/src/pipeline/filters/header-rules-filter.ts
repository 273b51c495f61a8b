import type { HeaderRulesConfig } from '@portico/config';
import type { Filter, FilterExchange } from '../filter.ts';
import { HeadEditor, MANAGED_REQUEST_FIELDS, MANAGED_RESPONSE_FIELDS } from '../head-editor.ts';

/** HeaderRules are a route's header changes, compiled once: names to remove, lines to add. */
export interface HeaderRules {
  /** removed holds the lower-case names of the message's own fields removed or replaced (`remove`, `set`). */
  readonly removed: ReadonlySet<string>;
  /** lines are the `set` and `add` fields, rendered and checked by HeadEditor. */
  readonly lines: string;
  /** managed holds the fields Portico writes itself (forwarding, Via, HSTS, X-Request-Id) the rules take over. */
  readonly managed: ReadonlySet<string>;
  /** host is the Host sent upstream instead of the client's (`set: { host }` on request rules). */
  readonly host: string | undefined;
}

/** compileHeaderRules compiles `remove`, then `set`, then `add`; `managedFields` are the side's managed fields. */
export function compileHeaderRules(
  rules: HeaderRulesConfig,
  managedFields: ReadonlySet<string>,
): HeaderRules {
  const removed = new Set<string>();
  const managed = new Set<string>();
  let host: string | undefined;
  const replaced = (name: string) => {
    removed.add(name);
    if (managedFields.has(name)) managed.add(name);
  };
  for (const name of rules.remove ?? []) replaced(name.toLowerCase());
  let lines = '';
  for (const [name, value] of Object.entries(rules.set ?? {})) {
    const lower = name.toLowerCase();
    replaced(lower);
    if (lower === 'host') host = value;
    else lines += HeadEditor.line(name, value);
  }
  for (const [name, value] of Object.entries(rules.add ?? {})) lines += HeadEditor.line(name, value);
  return { removed, lines, managed, host };
}

/** RequestHeadersFilter applies `routes[].requestHeaders` to the head sent upstream. */
export class RequestHeadersFilter implements Filter {
  readonly name = 'request-headers';
  readonly rules: HeaderRules;

  constructor(rules: HeaderRulesConfig) {
    this.rules = compileHeaderRules(rules, MANAGED_REQUEST_FIELDS);
  }

  upstreamRequest(_exchange: FilterExchange, head: HeadEditor): void {
    const rules = this.rules;
    head.removeAll(rules.removed);
    head.takeOver(rules.managed);
    head.addLines(rules.lines);
    if (rules.host !== undefined) head.host = rules.host;
  }
}

/** ResponseHeadersFilter applies `routes[].responseHeaders` to the response head sent to the client. */
export class ResponseHeadersFilter implements Filter {
  readonly name = 'response-headers';
  readonly rules: HeaderRules;

  constructor(rules: HeaderRulesConfig) {
    this.rules = compileHeaderRules(rules, MANAGED_RESPONSE_FIELDS);
  }

  response(_exchange: FilterExchange, head: HeadEditor): void {
    const rules = this.rules;
    head.removeAll(rules.removed);
    head.takeOver(rules.managed);
    head.addLines(rules.lines);
  }
}
