import type { CorsConfig } from '@portico/config';
import type { Filter, FilterExchange } from '../filter.ts';
import { HeadEditor } from '../head-editor.ts';
import type { LocalReply } from '../local-reply.ts';

const VISIBLE_ASCII = /^[!-~]+$/;
const VARY_ORIGIN = HeadEditor.line('vary', 'Origin');
const ANY_ORIGIN = HeadEditor.line('access-control-allow-origin', '*');

const CORS_FIELDS: ReadonlySet<string> = new Set([
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-expose-headers',
]);

/**
 * CorsFilter is cross-origin resource sharing at the edge (`routes[].cors`, the Fetch standard's CORS
 * protocol). A preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) from an allowed
 * origin is answered here, 204 with the allowed methods, headers and max-age; from another origin it
 * goes upstream untouched. A response to an allowed origin says so (`Access-Control-Allow-Origin`, the
 * origin itself unless `*` is allowed without credentials, and credentials and exposed headers as
 * configured), replacing any the upstream set; `Vary: Origin` is added whenever the answer depends on
 * the origin.
 */
export class CorsFilter implements Filter {
  readonly name = 'cors';
  readonly #any: boolean;
  readonly #exact: ReadonlySet<string>;
  /** #wildcards are `https://*.example.com` as [`https://`, `.example.com`]. */
  readonly #wildcards: readonly (readonly [string, string])[];
  readonly #patterns: readonly RegExp[];
  readonly #credentials: boolean;
  readonly #preflightFields: readonly string[];
  /** #responseLines are the credentials and exposed-headers fields of a response, rendered. */
  readonly #responseLines: string;

  constructor(cors: CorsConfig) {
    this.#any = cors.allowOrigins.includes('*') && !cors.allowCredentials;
    this.#exact = new Set(cors.allowOrigins.filter((o) => !o.includes('*')).map((o) => o.toLowerCase()));
    this.#wildcards = cors.allowOrigins
      .filter((o) => o.includes('://*.'))
      .map((o) => {
        const [scheme, rest] = o.toLowerCase().split('://*');
        return [`${scheme}://`, rest!] as const;
      });
    this.#patterns = (cors.allowOriginPatterns ?? []).map((p) => new RegExp(`^(?:${p})$`));
    this.#credentials = cors.allowCredentials;
    this.#preflightFields = [
      'access-control-allow-methods',
      cors.allowMethods.join(', '),
      'access-control-allow-headers',
      cors.allowHeaders.join(', '),
      'access-control-max-age',
      String(cors.maxAgeSeconds),
    ];
    const expose = cors.exposeHeaders.length === 0 ? undefined : cors.exposeHeaders.join(', ');
    this.#responseLines =
      (this.#credentials ? HeadEditor.line('access-control-allow-credentials', 'true') : '') +
      (expose === undefined ? '' : HeadEditor.line('access-control-expose-headers', expose));
  }

  request(exchange: FilterExchange): LocalReply | undefined {
    if (exchange.request.method !== 'OPTIONS') return undefined;
    const origin = exchange.header('origin');
    if (origin === undefined || exchange.header('access-control-request-method') === undefined)
      return undefined;
    if (!this.allows(origin)) return undefined;
    return {
      status: 204,
      fields: [
        ...this.#originFields(origin),
        ...this.#preflightFields,
        'vary',
        'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      ],
    };
  }

  response(exchange: FilterExchange, head: HeadEditor): void {
    const origin = exchange.header('origin');
    if (!this.#any) head.addLines(VARY_ORIGIN);
    if (origin === undefined || !this.allows(origin)) return;
    head.removeAll(CORS_FIELDS);
    // The origin was checked (visible ASCII) by `allows`; the rest was rendered once, at compile time.
    head.addLines(this.#any ? ANY_ORIGIN : `access-control-allow-origin: ${origin}\r\n`);
    head.addLines(this.#responseLines);
  }

  /** allows tells whether scripts from `origin` may read responses. */
  allows(origin: string): boolean {
    if (this.#any) return true;
    // It is echoed in a response field: visible ASCII only (an origin never holds anything else).
    if (!VISIBLE_ASCII.test(origin)) return false;
    const lower = origin.toLowerCase();
    if (this.#exact.has(lower)) return true;
    for (const [scheme, suffix] of this.#wildcards)
      if (lower.startsWith(scheme) && lower.endsWith(suffix) && lower.length > scheme.length + suffix.length)
        return true;
    for (const pattern of this.#patterns) if (pattern.test(origin)) return true;
    return false;
  }

  #originFields(origin: string): string[] {
    const fields = ['access-control-allow-origin', this.#any ? '*' : origin];
    if (this.#credentials) fields.push('access-control-allow-credentials', 'true');
    return fields;
  }
}
