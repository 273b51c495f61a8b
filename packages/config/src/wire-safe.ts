/**
 * Patterns for the config strings that reach the wire (request targets, field names and values, Location,
 * Set-Cookie). Each is checked once, here at the config boundary, for every source (static files, the
 * admin API's PUT, Kubernetes annotations), so the data plane can write them as they are. They admit
 * ASCII only: a character above U+00FF written as latin1 keeps only its low byte, so U+010A would become
 * a line feed on the wire.
 */

/** WIRE_PATH is a path (and optional query) for a request line or Location: "/" then visible ASCII. */
export const WIRE_PATH = '^/[!-~]*$';

/** COOKIE_PATH is a Set-Cookie Path attribute: "/" then visible ASCII except ";". */
export const COOKIE_PATH = '^/[!-:<-~]*$';

/** TOKEN is an RFC 9110 token: a field name, a cookie name. */
export const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

/** FIELD_VALUE is a field value Portico writes: visible ASCII, space and tab (no CR, LF, NUL, DEL). */
export const FIELD_VALUE = '^[\\t -~]*$';

/** HOST_NAME is a DNS name (labels of letters, digits, "-" and "_") or an IPv6 literal in brackets. */
export const HOST_NAME =
  '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*)$';

/** AUTHORITY is HOST_NAME with an optional ":port", as in a Host field. */
export const AUTHORITY =
  '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*)(:[0-9]{1,5})?$';

/** HOST_PATTERN is a DNS name a listener serves, or a wildcard `*.example.com`. */
export const HOST_PATTERN =
  '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$';

/** QUERY_NAME is a query parameter name as sent: visible ASCII other than "&" and "=". */
export const QUERY_NAME = "^[!-%'-<>-~]+$";

/** MEDIA_RANGE is a lower-case media type (`text/html`) or a whole type (`text/*`), without parameters. */
export const MEDIA_RANGE = '^[a-z0-9!#$&^_.+-]+/([a-z0-9!#$&^_.+-]+|\\*)$';

/** WIRE_MEANINGS says in words what each pattern asks for, for error messages. */
export const WIRE_MEANINGS: Readonly<Record<string, string>> = {
  [WIRE_PATH]: 'must start with "/" and hold only visible ASCII (no spaces, control characters or non-ASCII)',
  [COOKIE_PATH]: 'must start with "/" and hold only visible ASCII other than ";"',
  [TOKEN]: "must be a token: letters, digits and !#$%&'*+.^_`|~-",
  [FIELD_VALUE]: 'must hold only visible ASCII, spaces and tabs (no CR, LF, NUL or other controls)',
  [HOST_NAME]: 'must be a DNS name or a bracketed IPv6 address',
  [AUTHORITY]: 'must be a DNS name or a bracketed IPv6 address, with an optional :port',
  [QUERY_NAME]: 'must hold only visible ASCII other than "&" and "="',
  [MEDIA_RANGE]:
    'must be a lower-case media type ("text/html") or a whole type ("text/*"), without parameters',
  [HOST_PATTERN]: 'must be a DNS name (letters, digits, "-" and dots) or a wildcard "*.example.com"',
};

const compiled = new Map<string, RegExp>();

/**
 * wireProblem returns what is wrong with `value` for `pattern` (one of the patterns above), or undefined
 * when it is safe to write. For sources that check a string before it becomes config, such as annotations.
 */
export function wireProblem(pattern: string, value: string): string | undefined {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = new RegExp(pattern, 'u');
    compiled.set(pattern, re);
  }
  return re.test(value) ? undefined : (WIRE_MEANINGS[pattern] ?? `must match ${pattern}`);
}
