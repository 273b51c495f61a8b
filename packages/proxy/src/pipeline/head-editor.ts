import { FORWARDING_FIELDS } from '../forwarding-policy.ts';
import { isToken } from '../http/char-classes.ts';
import { PorticoProxyError } from '../proxy-error.ts';

/**
 * MANAGED_REQUEST_FIELDS are the request fields Portico writes itself (forwarding, Via, the request id);
 * a route's rules that set or remove one take it over, and Portico then leaves it out.
 */
export const MANAGED_REQUEST_FIELDS: ReadonlySet<string> = new Set([
  ...FORWARDING_FIELDS,
  'via',
  'x-request-id',
]);

/** MANAGED_RESPONSE_FIELDS are the response fields Portico writes itself (Via, HSTS). */
export const MANAGED_RESPONSE_FIELDS: ReadonlySet<string> = new Set(['via', 'strict-transport-security']);

/**
 * FRAMING_FIELDS are the fields only a codec writes: no rule or filter may set, add or remove them, since a
 * wrong one would desynchronise the peers (request smuggling). Host goes through `host` instead.
 */
const FRAMING_FIELDS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'te',
  'upgrade',
]);

/**
 * HeadEditor is the one place a message head is changed on its way through Portico: the filters of the
 * pipeline record here what to remove from the message's own fields, which lines to add, and (for a
 * request) the target and Host to send instead; the codec that writes the head applies it. It knows the
 * fields Portico manages (a rule that sets one takes it over) and refuses anything not wire-safe: names
 * must be tokens, values visible ASCII, space and tab, and framing fields are off limits. One editor is
 * reused per exchange and reset between messages.
 */
export class HeadEditor {
  /** removed holds sets of lower-case names of the message's own fields to leave out. */
  readonly removed: ReadonlySet<string>[] = [];
  /** lines are the fields to add, rendered (`name: value` CRLF each). */
  lines = '';
  /** managed holds the lower-case managed fields rules took over; Portico does not write them itself. */
  managed: ReadonlySet<string> | undefined;
  /** target replaces the request target (a rewrite), when set. */
  target: string | undefined;
  /** host replaces the Host sent upstream, when set. */
  host: string | undefined;

  /** reset empties the editor for the next message. */
  reset(): void {
    this.removed.length = 0;
    this.lines = '';
    this.managed = undefined;
    this.target = undefined;
    this.host = undefined;
  }

  /**
   * removeAll leaves out the fields named in `names` (lower case, checked when compiled): the message's
   * own, and those earlier filters added, so that filters apply in order.
   */
  removeAll(names: ReadonlySet<string>): void {
    if (names.size === 0) return;
    this.removed.push(names);
    if (this.lines !== '') this.lines = linesWithout(this.lines, names);
  }

  /** addLines adds field lines rendered by `HeadEditor.line` (so already checked). */
  addLines(lines: string): void {
    this.lines += lines;
  }

  /** takeOver records that rules write the managed fields in `names`, so Portico leaves them out. */
  takeOver(names: ReadonlySet<string>): void {
    if (names.size === 0) return;
    if (this.managed === undefined) this.managed = names;
    else this.managed = new Set([...this.managed, ...names]);
  }

  /** manages tells whether rules took over the managed field `name` (lower case). */
  manages(name: string): boolean {
    return this.managed?.has(name) === true;
  }

  /** set replaces the `name` fields with one holding `value`; throws when either is unsafe. */
  set(name: string, value: string): void {
    const line = HeadEditor.line(name, value);
    this.removeAll(new Set([name.toLowerCase()]));
    this.lines += line;
  }

  /** add appends a `name` field holding `value`; throws when either is unsafe. */
  add(name: string, value: string): void {
    this.lines += HeadEditor.line(name, value);
  }

  /** removes tells whether the message's own field `name` (lower case) is left out. */
  removes(name: string): boolean {
    for (const names of this.removed) if (names.has(name)) return true;
    return false;
  }

  /**
   * line renders `name: value` CRLF after checking both: the name a token and not a framing field, the
   * value visible ASCII, space and tab only (so neither CR, LF, NUL nor a character above U+007E that
   * latin1 would truncate can reach the wire). It throws PORTICO_UNSAFE_FIELD otherwise.
   */
  static line(name: string, value: string): string {
    const problem = HeadEditor.problem(name, value);
    if (problem !== undefined) throw new PorticoProxyError('PORTICO_UNSAFE_FIELD', problem);
    return `${name}: ${value}\r\n`;
  }

  /** problem says what makes `name: value` unsafe to write, or undefined when it is safe. */
  static problem(name: string, value: string): string | undefined {
    if (name.length === 0) return 'a field name must not be empty';
    if (!isToken(name)) return `field name ${JSON.stringify(name)} is not a token`;
    if (FRAMING_FIELDS.has(name.toLowerCase()))
      return `field ${JSON.stringify(name)} frames the message and is written by Portico only`;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c > 0x7e)
        return `value of ${JSON.stringify(name)} holds a character that is not visible ASCII, space or tab`;
    }
    return undefined;
  }
}

/** linesWithout drops from rendered field lines those whose names are in `names` (lower case). */
function linesWithout(lines: string, names: ReadonlySet<string>): string {
  let kept = '';
  for (let start = 0; start < lines.length; ) {
    const end = lines.indexOf('\r\n', start) + 2;
    const line = lines.slice(start, end);
    if (!names.has(line.slice(0, line.indexOf(':')).toLowerCase())) kept += line;
    start = end;
  }
  return kept;
}
