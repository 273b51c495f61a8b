import type { RequestOutcome } from '@portico/proxy';

/**
 * AccessLogFormat says how an access log line looks: `json` (one object per line, every field), nginx's
 * `combined`, `console` (short and coloured, for a person at a terminal), or a template of nginx-style
 * `$variables` (`LOG_VARIABLES`).
 */
export type AccessLogFormat = 'json' | 'combined' | 'console' | { readonly template: string };

/** COMBINED is nginx's `combined` log format, as a template. */
export const COMBINED =
  '$remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** timeLocal formats a time as nginx's `$time_local` (`03/Dec/2026:06:45:12 +0000`), in UTC. */
export function timeLocal(date: Date): string {
  return `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

/** seconds renders milliseconds as nginx's seconds with millisecond resolution (`0.012`), `-` when none. */
function seconds(ms: number): string {
  return ms < 0 ? '-' : (ms / 1000).toFixed(3);
}

const dash = (value: string | undefined) => (value === undefined || value === '' ? '-' : value);

/** requestLine is `GET /path?query HTTP/1.1`, as nginx's `$request`. */
function requestLine(o: RequestOutcome): string {
  if (o.method === undefined) return '-';
  return `${o.method} ${o.path ?? ''}${o.query ? `?${o.query}` : ''} ${o.protocol}`;
}

/**
 * LOG_VARIABLES are the `$variables` a template may use: nginx's names where the meaning is nginx's, and
 * `portico_*` for what only Portico knows. A missing value is `-`, as nginx writes it.
 */
export const LOG_VARIABLES: Readonly<Record<string, (o: RequestOutcome, now: Date) => string>> = {
  remote_addr: (o) => dash(o.client),
  time_local: (_o, now) => timeLocal(now),
  time_iso8601: (_o, now) => now.toISOString(),
  msec: (_o, now) => (now.getTime() / 1000).toFixed(3),
  request: requestLine,
  request_method: (o) => dash(o.method),
  request_uri: (o) => (o.path === undefined ? '-' : `${o.path}${o.query ? `?${o.query}` : ''}`),
  uri: (o) => dash(o.path),
  args: (o) => dash(o.query),
  host: (o) => dash(o.host),
  server_protocol: (o) => o.protocol,
  status: (o) => String(o.status),
  body_bytes_sent: (o) => String(o.responseBytes),
  request_body_bytes: (o) => String(o.requestBytes),
  request_time: (o) => seconds(o.durationMs),
  upstream_addr: (o) => dash(o.endpoint),
  upstream_connect_time: (o) => seconds(o.connectMs),
  upstream_header_time: (o) => seconds(o.ttfbMs),
  http_user_agent: (o) => dash(o.userAgent),
  http_referer: (o) => dash(o.referer),
  request_id: (o) => dash(o.requestId),
  ssl_protocol: (o) => dash(o.tls?.version),
  ssl_cipher: (o) => dash(o.tls?.cipher),
  ssl_server_name: (o) => dash(o.tls?.sni),
  portico_route: (o) => dash(o.route),
  portico_service: (o) => dash(o.service),
  portico_listener: (o) => dash(o.listener),
  portico_error: (o) => dash(o.errorCode),
  portico_phase: (o) => o.phase,
  trace_id: (o) => dash(o.trace?.traceId),
  span_id: (o) => dash(o.trace?.spanId),
};

const hex = (byte: number) => `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * escapeLogValue makes a value safe inside a log line, as nginx's default escaping: `"`, `\`, control characters
 * and bytes outside printable ASCII become `\xHH`, so a request cannot forge a line or a field.
 */
export function escapeLogValue(value: string): string {
  let out: string | undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
      if (out !== undefined) out += value[i];
      continue;
    }
    out ??= value.slice(0, i);
    if (c <= 0xff) {
      out += hex(c);
      continue;
    }
    const point = value.codePointAt(i)!;
    for (const byte of Buffer.from(String.fromCodePoint(point), 'utf8')) out += hex(byte);
    if (point > 0xffff) i++; // the second half of a surrogate pair
  }
  return out ?? value;
}

/**
 * compileTemplate turns a template into a line renderer, or says which `$variable` it does not know.
 * `$name` and `${name}` are variables; everything else is written as it is.
 */
export function compileTemplate(template: string): ((o: RequestOutcome, now: Date) => string) | string {
  const parts: (string | ((o: RequestOutcome, now: Date) => string))[] = [];
  const re = /\$\{([a-z0-9_]+)\}|\$([a-z0-9_]+)/g;
  let at = 0;
  for (const m of template.matchAll(re)) {
    const name = m[1] ?? m[2]!;
    const variable = LOG_VARIABLES[name];
    if (variable === undefined)
      return `unknown variable $${name} in the access log template (known: ${Object.keys(LOG_VARIABLES)
        .map((v) => `$${v}`)
        .join(', ')})`;
    if (m.index > at) parts.push(template.slice(at, m.index));
    parts.push(variable);
    at = m.index + m[0].length;
  }
  if (at < template.length) parts.push(template.slice(at));
  if (/[\r\n]/.test(template)) return 'the access log template must be one line';
  return (o, now) => {
    let line = '';
    for (const part of parts) line += typeof part === 'string' ? part : escapeLogValue(part(o, now));
    return line;
  };
}

const COLOURS = { 2: '\x1b[32m', 3: '\x1b[36m', 4: '\x1b[33m', 5: '\x1b[31m' } as Record<number, string>;

/**
 * consoleLine is a short line for a person: `06:45:12.345 GET app.example/ok?x=1 200 3 ms app -> 10.0.0.7:8080`,
 * the status coloured by class when `colour`, and the error code when Portico answered.
 */
export function consoleLine(o: RequestOutcome, now: Date, colour: boolean): string {
  const time = now.toISOString().slice(11, 23);
  const status = colour ? `${COLOURS[(o.status / 100) | 0] ?? ''}${o.status}\x1b[0m` : String(o.status);
  const target = `${escapeLogValue(o.host ?? '')}${escapeLogValue(o.path ?? '')}${o.query ? `?${escapeLogValue(o.query)}` : ''}`;
  const via =
    o.route === undefined
      ? ''
      : ` ${escapeLogValue(o.route)}${o.endpoint === undefined ? '' : ` -> ${o.endpoint}`}`;
  const error = o.errorCode === undefined ? '' : ` ${o.errorCode}`;
  return `${time} ${o.method ?? '-'} ${target} ${status} ${Math.round(o.durationMs)} ms${via}${error}`;
}
