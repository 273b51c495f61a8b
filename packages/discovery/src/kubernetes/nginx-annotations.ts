import { isIP } from 'node:net';
import {
  COOKIE_PATH,
  HOST_NAME,
  type PorticoConfigInput,
  TOKEN,
  WIRE_PATH,
  wireProblem,
} from '@portico/config';

type RouteInput = NonNullable<PorticoConfigInput['routes']>[number];
type ServiceInput = NonNullable<PorticoConfigInput['services']>[number];

/** NGINX_PREFIX is the prefix of ingress-nginx's annotations. */
export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';

/**
 * NginxSupport says how Portico honours an annotation: `yes` as ingress-nginx does, `partly` with a
 * difference the table states, `accepted` read and without effect (nginx buffering knobs), `no` not at all.
 */
export type NginxSupport = 'yes' | 'partly' | 'accepted' | 'no';

/**
 * NginxSettings are what an Ingress's ingress-nginx annotations ask for, in Portico's terms: route and
 * service fields, and what the translation does around them (redirects, aliases, Secrets to read).
 */
export interface NginxSettings {
  route: Partial<RouteInput> & { timeouts?: Record<string, number> };
  service: Partial<ServiceInput>;
  useRegex: boolean;
  /** sslRedirect overrides ingress-nginx's default (hosts with TLS redirect to HTTPS). */
  sslRedirect: boolean | undefined;
  /** forceSslRedirect redirects to HTTPS even hosts without TLS. */
  forceSslRedirect: boolean;
  /** appRoot is where `/` redirects (302). */
  appRoot: string | undefined;
  /** wwwRedirect: requests to www.<host> redirect to <host>, or the reverse. */
  wwwRedirect: boolean;
  /** aliases are more hosts served like each rule's host (server-alias). */
  aliases: string[];
  /** authSecret is the Secret (`namespace/name` or `name`) holding basic auth users, and its format. */
  authSecret: { name: string; format: 'auth-file' | 'auth-map' } | undefined;
  /** proxySslSecret is the Secret holding the CA (ca.crt) and client pair for upstream TLS. */
  proxySslSecret: string | undefined;
  /** errorBackend is the Service (name) rendering custom-http-errors, when both are set. */
  errorBackend: string | undefined;
  customErrors: number[] | undefined;
  /** canary makes this Ingress a canary of the one with the same host and path (undefined: it is not). */
  canary: CanarySettings | undefined;
  /** affinityOff is never set by ingress-nginx annotations (kept for the shared settings shape). */
  affinityOff: boolean;
}

/** CanarySettings say which requests a canary Ingress takes from its main one. */
export interface CanarySettings {
  readonly weight: number;
  readonly total: number;
  readonly header?: string;
  readonly headerValue?: string;
  readonly headerPattern?: string;
  readonly cookie?: string;
}

/** NginxFinding is what became of one annotation, for issues, Events and `portico migrate`. */
export interface NginxFinding {
  readonly annotation: string;
  readonly value: string;
  readonly support: NginxSupport;
  /** outcome: translated, accepted (no effect), unsupported (served without it), fail-closed (not served), invalid (value refused). */
  readonly outcome: 'translated' | 'accepted' | 'unsupported' | 'fail-closed' | 'invalid';
  readonly detail: string;
}

type Parse = (value: string, s: NginxSettings, all: Readonly<Record<string, string>>) => string | undefined;

/** NginxAnnotation is one ingress-nginx annotation: how far Portico honours it and how it translates. */
export interface NginxAnnotation {
  readonly support: NginxSupport;
  /** security: an annotation that restricts or changes who may reach what; unhonoured, it fails closed. */
  readonly security: boolean;
  /** note says what Portico does with it (the docs table's text). */
  readonly note: string;
  readonly parse?: Parse;
}

function bool(value: string): boolean | undefined {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

function integer(value: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

/** list splits a comma-separated annotation value. */
function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** nginxSize reads an nginx size (`8m`, `512k`, `1g`, bytes) in bytes. */
export function nginxSize(value: string): number | undefined {
  const match = /^(\d+)([kKmMgG]?)$/.exec(value);
  if (match === null) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase()]!;
  return Number(match[1]) * unit;
}

const seconds =
  (...fields: string[]): Parse =>
  (value, s) => {
    const n = integer(value.replace(/s$/, ''), 1, 86_400);
    if (n === undefined) return 'must be a whole number of seconds, 1 to 86400';
    s.route.timeouts = { ...s.route.timeouts, ...Object.fromEntries(fields.map((f) => [f, n * 1000])) };
    return undefined;
  };

/** ranges reads a comma-separated CIDR list into `side` of the route's access list. */
const ranges =
  (side: 'allow' | 'deny'): Parse =>
  (value, s) => {
    const cidrs = list(value);
    if (cidrs.length === 0) return 'must list addresses or CIDRs';
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split('/', 2) as [string, string | undefined];
      const family = isIP(address);
      if (family === 0 || (bits !== undefined && integer(bits, 0, family === 4 ? 32 : 128) === undefined))
        return `${JSON.stringify(cidr.slice(0, 64))} is not an address or CIDR`;
    }
    s.route.access = { ...s.route.access, [side]: cidrs };
    return undefined;
  };

function redirect(kind: 'permanent' | 'temporal'): Parse {
  return (value, s, all) => {
    if (/[\u0000-\u0020\u007f]/.test(value)) return 'must be a URL without spaces or control characters';
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return 'must be an absolute http:// or https:// URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
    const host = wireProblem(HOST_NAME, url.hostname);
    if (host !== undefined) return `host ${host}`;
    const path = wireProblem(WIRE_PATH, url.pathname);
    if (path !== undefined) return `path ${path}`;
    const codeValue = all[`${NGINX_PREFIX}${kind}-redirect-code`];
    const code = codeValue === undefined ? (kind === 'permanent' ? 301 : 302) : integer(codeValue, 300, 308);
    if (code === undefined || ![301, 302, 303, 307, 308].includes(code))
      return `${kind}-redirect-code must be 301, 302, 303, 307 or 308`;
    s.route.redirect = {
      scheme: url.protocol === 'https:' ? 'https' : 'http',
      host: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      status: code as 301 | 302 | 303 | 307 | 308,
    };
    return undefined;
  };
}

/** hashKeyOf maps an nginx variable of upstream-hash-by to a hash key. */
function hashKeyOf(value: string): ServiceInput['hashKey'] | undefined {
  if (value === '$remote_addr' || value === '$binary_remote_addr') return { source: 'source-ip' };
  if (value === '$request_uri' || value === '$uri') return { source: 'path' };
  const match = /^\$(http|cookie|arg)_([A-Za-z0-9_-]+)$/.exec(value);
  if (match === null) return undefined;
  const name = match[1] === 'http' ? match[2]!.replaceAll('_', '-') : match[2]!;
  return { source: match[1] === 'http' ? 'header' : match[1] === 'cookie' ? 'cookie' : 'query', name };
}

/** affinity returns the service's cookie affinity, made with ingress-nginx's cookie name on first use. */
function affinity(s: NginxSettings): Record<string, unknown> {
  if (s.service.affinity === undefined) s.service.affinity = { type: 'cookie', cookieName: 'INGRESSCOOKIE' };
  return s.service.affinity as Record<string, unknown>;
}

const accepted = (note: string): NginxAnnotation => ({ support: 'accepted', security: false, note });
const refused = (note: string, security = true): NginxAnnotation => ({ support: 'no', security, note });

/**
 * NGINX_ANNOTATIONS are the ingress-nginx annotations Portico knows, each with how it is honoured;
 * docs/migrate-from-ingress-nginx.md is this table. An annotation not listed is reported as unsupported.
 */
export const NGINX_ANNOTATIONS: Readonly<Record<string, NginxAnnotation>> = {
  'rewrite-target': {
    support: 'yes',
    security: false,
    note: 'The matched part of the path is replaced; `$1`... are the regex groups (it turns use-regex on, as in ingress-nginx).',
    parse: (value, s) => {
      const problem = wireProblem(WIRE_PATH, value);
      if (problem !== undefined) return problem;
      s.route.rewriteTarget = value;
      s.useRegex = true;
      return undefined;
    },
  },
  'use-regex': {
    support: 'partly',
    security: false,
    note: 'Paths of this Ingress are regular expressions (RE2-like JavaScript syntax), matched case-sensitively: ingress-nginx matches them case-insensitively (`~*`) and for every Ingress of the host.',
    parse: (value, s) => {
      const b = bool(value);
      if (b === undefined) return 'must be "true" or "false"';
      s.useRegex = s.useRegex || b;
      return undefined;
    },
  },
  'app-root': {
    support: 'yes',
    security: false,
    note: 'A request for `/` redirects (302) to this path.',
    parse: (value, s) => {
      const problem = wireProblem(WIRE_PATH, value);
      if (problem !== undefined) return problem;
      s.appRoot = value;
      return undefined;
    },
  },
  'ssl-redirect': {
    support: 'partly',
    security: false,
    note: 'Hosts with TLS redirect plain HTTP to HTTPS by default, as in ingress-nginx; "false" turns it off. The status is 301 for GET and HEAD and 308 for others (ingress-nginx: 308 for all).',
    parse: (value, s) => {
      const b = bool(value);
      if (b === undefined) return 'must be "true" or "false"';
      s.sslRedirect = b;
      return undefined;
    },
  },
  'force-ssl-redirect': {
    support: 'partly',
    security: false,
    note: 'Redirects plain HTTP to HTTPS even for hosts without TLS (status as for ssl-redirect).',
    parse: (value, s) => {
      const b = bool(value);
      if (b === undefined) return 'must be "true" or "false"';
      s.forceSslRedirect = b;
      return undefined;
    },
  },
  'permanent-redirect': {
    support: 'yes',
    security: false,
    note: 'Every request redirects to the URL (301, or permanent-redirect-code).',
    parse: redirect('permanent'),
  },
  'permanent-redirect-code': { support: 'yes', security: false, note: 'The status of permanent-redirect.' },
  'temporal-redirect': {
    support: 'yes',
    security: false,
    note: 'Every request redirects to the URL (302, or temporal-redirect-code).',
    parse: redirect('temporal'),
  },
  'temporal-redirect-code': { support: 'yes', security: false, note: 'The status of temporal-redirect.' },
  'from-to-www-redirect': {
    support: 'yes',
    security: false,
    note: 'Requests to `www.<host>` redirect (308) to `<host>`, or the reverse when the rule names the www host.',
    parse: (value, s) => {
      const b = bool(value);
      if (b === undefined) return 'must be "true" or "false"';
      s.wwwRedirect = b;
      return undefined;
    },
  },
  'whitelist-source-range': {
    support: 'yes',
    security: true,
    note: 'Only these addresses or CIDRs are served (403 otherwise), by the client address Portico trusts.',
    parse: ranges('allow'),
  },
  'allowlist-source-range': {
    support: 'yes',
    security: true,
    note: 'The newer name of whitelist-source-range.',
    parse: ranges('allow'),
  },
  'denylist-source-range': {
    support: 'yes',
    security: true,
    note: 'These addresses or CIDRs get 403 (deny wins over allow).',
    parse: ranges('deny'),
  },
  'auth-type': {
    support: 'partly',
    security: true,
    note: '`basic` is served (with auth-secret); `digest` is not, and fails closed.',
    parse: (value, s, all) => {
      if (value !== 'basic') return 'only "basic" is served';
      const secret = all[`${NGINX_PREFIX}auth-secret`];
      if (secret === undefined || secret === '') return 'needs auth-secret';
      const format = all[`${NGINX_PREFIX}auth-secret-type`] ?? 'auth-file';
      if (format !== 'auth-file' && format !== 'auth-map')
        return 'auth-secret-type must be auth-file or auth-map';
      s.authSecret = { name: secret, format };
      const realm = all[`${NGINX_PREFIX}auth-realm`];
      if (realm !== undefined && !/^[ !#-[\]-~]{1,128}$/.test(realm))
        return 'auth-realm must be visible ASCII but " and \\';
      s.route.basicAuth = { realm: realm ?? 'Authentication Required', users: [] };
      return undefined;
    },
  },
  'auth-secret': {
    support: 'yes',
    security: true,
    note: 'The Secret with the htpasswd users (key `auth`, or one key per user with auth-map).',
  },
  'auth-secret-type': { support: 'yes', security: true, note: '`auth-file` (default) or `auth-map`.' },
  'auth-realm': { support: 'yes', security: false, note: 'The realm of the basic auth challenge.' },
  'auth-url': {
    support: 'yes',
    security: true,
    note: 'Forward auth: every request is asked of this URL first (2xx passes; 401/403 go back; errors fail closed with 500).',
    parse: (value, s, all) => {
      if (!/^https?:\/\/[!-~]+$/.test(value)) return 'must be an http:// or https:// URL';
      const method = all[`${NGINX_PREFIX}auth-method`];
      if (
        method !== undefined &&
        method.toUpperCase() !== 'GET' &&
        method.toUpperCase() !== 'POST' &&
        method !== ''
      )
        return 'auth-method must be GET or POST';
      const signin = all[`${NGINX_PREFIX}auth-signin`];
      if (signin !== undefined && !/^https?:\/\/[!-~]+$/.test(signin))
        return 'auth-signin must be an http:// or https:// URL';
      const headers = list(all[`${NGINX_PREFIX}auth-response-headers`] ?? '');
      for (const h of headers)
        if (wireProblem(TOKEN, h) !== undefined)
          return `auth-response-headers: ${JSON.stringify(h)} is not a header name`;
      s.route.forwardAuth = {
        url: value,
        responseHeaders: headers,
        ...(signin === undefined ? {} : { signInUrl: signin }),
      };
      return undefined;
    },
  },
  'auth-signin': {
    support: 'yes',
    security: false,
    note: 'A 401 from auth-url redirects (302) here with `rd`.',
  },
  'auth-response-headers': {
    support: 'yes',
    security: true,
    note: "Copied from the auth answer upstream; the client's own are dropped.",
  },
  'auth-method': {
    support: 'partly',
    security: false,
    note: 'The auth request is a GET, or carries the original method with `original`; POST is sent as GET without a body, as ingress-nginx sends no body either.',
  },
  'auth-snippet': refused('nginx configuration: not interpreted; the Ingress is not served.'),
  'auth-cache-key': accepted('Read; answers are not cached (every request asks auth-url).'),
  'auth-cache-duration': accepted('Read; answers are not cached.'),
  'auth-proxy-set-headers': refused(
    'Headers added to the auth request from a ConfigMap: not read; the Ingress is not served.',
  ),
  'auth-request-redirect': refused('Not honoured; the Ingress is not served.'),
  'auth-always-set-cookie': accepted('Set-Cookie of a 401/403 auth answer goes back; of a 2xx it does not.'),
  'auth-tls-secret': refused(
    "Client certificate auth per Ingress: not served here (use a listener's clientCertificate); the Ingress is not served.",
  ),
  'auth-tls-verify-client': refused('See auth-tls-secret.'),
  'auth-tls-verify-depth': refused('See auth-tls-secret.'),
  'auth-tls-error-page': refused('See auth-tls-secret.'),
  'auth-tls-pass-certificate-to-upstream': refused('See auth-tls-secret.'),
  'auth-tls-match-cn': refused('See auth-tls-secret.'),
  satisfy: refused('`any` of auth and source ranges: not honoured; the Ingress is not served.'),
  'enable-cors': {
    support: 'partly',
    security: false,
    note: "CORS at the edge with the cors-* values and ingress-nginx's defaults. With the default origin `*`, credentials are not allowed (browsers refuse `*` with credentials anyway).",
    parse: (value, s, all) => {
      const b = bool(value);
      if (b === undefined) return 'must be "true" or "false"';
      if (!b) return undefined;
      const origins = list(all[`${NGINX_PREFIX}cors-allow-origin`] ?? '*');
      const credentials = bool(all[`${NGINX_PREFIX}cors-allow-credentials`] ?? 'true') ?? true;
      const methods = list(
        all[`${NGINX_PREFIX}cors-allow-methods`] ?? 'GET, PUT, POST, DELETE, PATCH, OPTIONS',
      );
      const headers = all[`${NGINX_PREFIX}cors-allow-headers`];
      const expose = all[`${NGINX_PREFIX}cors-expose-headers`];
      const maxAge = all[`${NGINX_PREFIX}cors-max-age`];
      const maxAgeSeconds = maxAge === undefined ? 1_728_000 : integer(maxAge, 0, 86_400 * 365);
      if (maxAgeSeconds === undefined) return 'cors-max-age must be a whole number of seconds';
      s.route.cors = {
        allowOrigins: origins,
        allowMethods: methods,
        ...(headers === undefined ? {} : { allowHeaders: list(headers) }),
        ...(expose === undefined ? {} : { exposeHeaders: list(expose) }),
        allowCredentials: credentials && !origins.includes('*'),
        maxAgeSeconds,
      };
      return undefined;
    },
  },
  'cors-allow-origin': {
    support: 'yes',
    security: false,
    note: 'Allowed origins (comma-separated; `*.` subdomain wildcards).',
  },
  'cors-allow-methods': { support: 'yes', security: false, note: 'Methods a preflight allows.' },
  'cors-allow-headers': { support: 'yes', security: false, note: 'Headers a preflight allows.' },
  'cors-expose-headers': { support: 'yes', security: false, note: 'Headers scripts may read.' },
  'cors-allow-credentials': { support: 'yes', security: false, note: 'Credentials allowed (not with `*`).' },
  'cors-max-age': { support: 'yes', security: false, note: 'Preflight cache seconds.' },
  affinity: {
    support: 'yes',
    security: false,
    note: '`cookie`: a signed cookie pins the client to its endpoint (INGRESSCOOKIE unless session-cookie-name).',
    parse: (value, s) => {
      if (value !== 'cookie') return 'only "cookie" is an ingress-nginx affinity';
      affinity(s);
      return undefined;
    },
  },
  'affinity-mode': accepted(
    '`balanced` and `persistent` both keep a pinned client where it is while its endpoint is up.',
  ),
  'session-cookie-name': {
    support: 'yes',
    security: false,
    note: "The affinity cookie's name.",
    parse: (value, s) => {
      const problem = wireProblem(TOKEN, value);
      if (problem !== undefined) return problem;
      affinity(s).cookieName = value;
      return undefined;
    },
  },
  'session-cookie-path': {
    support: 'yes',
    security: false,
    note: "The affinity cookie's Path (default `/`).",
    parse: (value, s) => {
      const problem = wireProblem(COOKIE_PATH, value);
      if (problem !== undefined) return problem;
      affinity(s).cookiePath = value;
      return undefined;
    },
  },
  'session-cookie-max-age': {
    support: 'yes',
    security: false,
    note: "The cookie's Max-Age, and how long a pin lives.",
    parse: (value, s) => {
      const n = integer(value, 1, 31_536_000);
      if (n === undefined) return 'must be a whole number of seconds';
      affinity(s).ttlSeconds = n;
      return undefined;
    },
  },
  'session-cookie-expires': {
    support: 'partly',
    security: false,
    note: 'Taken as Max-Age (Portico sends Max-Age, not Expires) when session-cookie-max-age is not set.',
    parse: (value, s, all) => {
      const n = integer(value, 1, 31_536_000);
      if (n === undefined) return 'must be a whole number of seconds';
      if (all[`${NGINX_PREFIX}session-cookie-max-age`] === undefined) affinity(s).ttlSeconds = n;
      return undefined;
    },
  },
  'session-cookie-samesite': {
    support: 'yes',
    security: false,
    note: 'SameSite: None, Lax or Strict.',
    parse: (value, s) => {
      const v = value.charAt(0).toUpperCase() + value.slice(1).toLowerCase();
      if (v !== 'None' && v !== 'Lax' && v !== 'Strict') return 'must be None, Lax or Strict';
      affinity(s).cookieSameSite = v;
      if (v === 'None') affinity(s).cookieSecure = true; // browsers refuse SameSite=None without Secure
      return undefined;
    },
  },
  'session-cookie-secure': {
    support: 'yes',
    security: false,
    note: "The cookie's Secure attribute.",
    parse: (value, s) => {
      const b = bool(value);
      if (b === undefined) return 'must be "true" or "false"';
      affinity(s).cookieSecure = b;
      return undefined;
    },
  },
  'session-cookie-change-on-failure': accepted(
    'A pinned endpoint that is down is left for another and the cookie re-issued (always, in Portico).',
  ),
  'session-cookie-conditional-samesite-none': accepted('Read; SameSite=None is sent to every client.'),
  'upstream-hash-by': {
    support: 'partly',
    security: false,
    note: 'Consistent hashing (ring hash) on `$remote_addr`, `$request_uri`/`$uri`, `$http_<name>`, `$cookie_<name>` or `$arg_<name>`; other nginx expressions are not read.',
    parse: (value, s) => {
      const key = hashKeyOf(value.trim());
      if (key === undefined)
        return 'must be one of $remote_addr, $request_uri, $uri, $http_<name>, $cookie_<name>, $arg_<name>';
      s.service.hashKey = key;
      s.service.balancer = 'ring-hash';
      return undefined;
    },
  },
  'upstream-hash-by-subset': accepted('Read; the whole endpoint set is hashed.'),
  'load-balance': {
    support: 'yes',
    security: false,
    note: "`round_robin` is round robin, `ewma` is Portico's EWMA latency balancer.",
    parse: (value, s) => {
      if (value === 'round_robin') s.service.balancer = 'round-robin';
      else if (value === 'ewma') s.service.balancer = 'ewma';
      else return 'must be round_robin or ewma';
      return undefined;
    },
  },
  'proxy-body-size': {
    support: 'yes',
    security: false,
    note: "Largest request body (413 above); `0` no limit. Without it, 1m, ingress-nginx's default.",
    parse: (value, s) => {
      const bytes = nginxSize(value);
      if (bytes === undefined) return 'must be a size: bytes, or a number with k, m or g';
      s.route.maxBodyBytes = bytes;
      return undefined;
    },
  },
  'proxy-connect-timeout': {
    support: 'yes',
    security: false,
    note: 'Seconds to connect to an endpoint.',
    parse: seconds('upstreamConnectMs'),
  },
  'proxy-read-timeout': {
    support: 'yes',
    security: false,
    note: 'Seconds to wait for the response head, and between reads of its body.',
    parse: seconds('upstreamResponseHeadMs', 'upstreamIdleMs'),
  },
  'proxy-send-timeout': {
    support: 'partly',
    security: false,
    note: 'Read; Portico bounds sending to the upstream by upstream backpressure and the request timeout.',
  },
  'proxy-next-upstream': {
    support: 'partly',
    security: false,
    note: 'Portico retries idempotent requests on connection errors and timeouts (`error timeout`); http_5xx conditions are not read.',
  },
  'proxy-next-upstream-tries': {
    support: 'yes',
    security: false,
    note: 'Tries in all: retries = tries - 1.',
    parse: (value, s) => {
      const tries = integer(value, 0, 11);
      if (tries === undefined) return 'must be a whole number, 0 to 11';
      s.service.retries = { attempts: Math.max(0, tries - 1) };
      return undefined;
    },
  },
  'proxy-next-upstream-timeout': accepted('Read; retries are bounded by the request timeout.'),
  'backend-protocol': {
    support: 'partly',
    security: false,
    note: 'HTTP; HTTPS (encrypted, not verified, as ingress-nginx without proxy-ssl-verify); GRPC (HTTP/2 cleartext); GRPCS (HTTP/2 over TLS); AUTO_HTTP as HTTP. FCGI is not served.',
    parse: (value, s) => {
      const protocol = value.toUpperCase();
      if (protocol === 'HTTP' || protocol === 'AUTO_HTTP') return undefined;
      if (protocol === 'HTTPS') s.service.tls = { verify: false, ...s.service.tls };
      else if (protocol === 'GRPC') s.service.protocol = 'http2';
      else if (protocol === 'GRPCS') {
        s.service.protocol = 'http2';
        s.service.tls = { verify: false, ...s.service.tls };
      } else return 'must be HTTP, HTTPS, GRPC, GRPCS or AUTO_HTTP';
      return undefined;
    },
  },
  'proxy-ssl-secret': {
    support: 'yes',
    security: false,
    note: 'CA (`ca.crt`) and client certificate (`tls.crt`, `tls.key`) for TLS to the endpoints.',
    parse: (value, s) => {
      if (!/^([a-z0-9-]+\/)?[a-z0-9.-]+$/.test(value)) return 'must be <namespace>/<name> or <name>';
      s.proxySslSecret = value;
      return undefined;
    },
  },
  'proxy-ssl-verify': {
    support: 'yes',
    security: false,
    note: "`on` verifies the endpoints' certificates against proxy-ssl-secret's CA.",
    parse: (value, s) => {
      if (value !== 'on' && value !== 'off') return 'must be on or off';
      s.service.tls = { ...s.service.tls, verify: value === 'on' };
      return undefined;
    },
  },
  'proxy-ssl-name': {
    support: 'yes',
    security: false,
    note: 'The name verified (and sent as SNI).',
    parse: (value, s) => {
      const problem = wireProblem(HOST_NAME, value);
      if (problem !== undefined) return problem;
      s.service.tls = { verify: false, ...s.service.tls, serverName: value };
      return undefined;
    },
  },
  'proxy-ssl-server-name': accepted('SNI is always sent when proxy-ssl-name is set.'),
  'proxy-ssl-protocols': accepted("Read; Node's TLS defaults apply (TLS 1.2 and 1.3)."),
  'proxy-ssl-ciphers': accepted("Read; Node's TLS defaults apply."),
  'upstream-vhost': {
    support: 'yes',
    security: false,
    note: 'The Host sent upstream.',
    parse: (value, s) => {
      const problem = wireProblem(HOST_NAME, value.replace(/:\d+$/, ''));
      if (problem !== undefined) return problem;
      s.route.rewrite = { ...s.route.rewrite, host: value };
      return undefined;
    },
  },
  'x-forwarded-prefix': {
    support: 'yes',
    security: false,
    note: 'Sent upstream as X-Forwarded-Prefix.',
    parse: (value, s) => {
      const problem = wireProblem(WIRE_PATH, value);
      if (problem !== undefined) return problem;
      s.route.requestHeaders = { set: { 'X-Forwarded-Prefix': value } };
      return undefined;
    },
  },
  'custom-http-errors': {
    support: 'partly',
    security: false,
    note: "With default-backend: those statuses (Portico's and the upstream's) are answered by that Service, asked at one of its endpoints with X-Code, X-Format, X-Original-URI and X-Request-ID, the status kept. Without default-backend it is not read.",
    parse: (value, s) => {
      const statuses = list(value).map((v) => integer(v, 400, 599));
      if (statuses.length === 0 || statuses.some((v) => v === undefined))
        return 'must list statuses from 400 to 599';
      s.customErrors = [...new Set(statuses as number[])];
      return undefined;
    },
  },
  'default-backend': {
    support: 'partly',
    security: false,
    note: "Used only as custom-http-errors' renderer (see there).",
    parse: (value, s) => {
      if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(value)) return 'must be a Service name';
      s.errorBackend = value;
      return undefined;
    },
  },
  'server-alias': {
    support: 'yes',
    security: false,
    note: "More hosts served by the Ingress's rules.",
    parse: (value, s) => {
      const hosts = list(value);
      for (const host of hosts)
        if (wireProblem(HOST_NAME, host.replace(/^\*\./, 'x.')) !== undefined)
          return `${JSON.stringify(host)} is not a host name`;
      s.aliases = hosts;
      return undefined;
    },
  },
  'limit-rps': {
    support: 'yes',
    security: false,
    note: 'Requests per second per client address, burst rps x limit-burst-multiplier (5); 503 beyond, as ingress-nginx.',
    parse: (value, s, all) => limit(value, s, all, 'requestsPerSecond'),
  },
  'limit-rpm': {
    support: 'yes',
    security: false,
    note: 'Requests per minute per client address (limit-rps wins when both are set).',
    parse: (value, s, all) =>
      all[`${NGINX_PREFIX}limit-rps`] === undefined ? limit(value, s, all, 'requestsPerMinute') : undefined,
  },
  'limit-burst-multiplier': { support: 'yes', security: false, note: 'Burst = rate x this (default 5).' },
  'limit-connections': {
    support: 'yes',
    security: false,
    note: 'Requests in flight per client address; 503 beyond.',
    parse: (value, s) => {
      const n = integer(value, 1, 1_000_000);
      if (n === undefined) return 'must be a whole number, 1 or more';
      s.route.inFlight = { maxPerClient: n, status: 503 };
      return undefined;
    },
  },
  'limit-whitelist': {
    support: 'no',
    security: false,
    note: 'Addresses exempt from the limits: not honoured, so they are limited too (stricter, not looser).',
  },
  'limit-allowlist': { support: 'no', security: false, note: 'See limit-whitelist.' },
  'service-upstream': accepted("Portico always sends to the pods' endpoints, never the Service VIP."),
  'ssl-passthrough': refused(
    "TLS passthrough needs a `tls-passthrough` listener of Portico's own config; the Ingress is not served (terminating its TLS here would change who sees the traffic).",
  ),
  'enable-access-log': accepted('Access logs are per Portico process (`--access-log`).'),
  'proxy-buffering': accepted('Portico streams; it does not buffer responses.'),
  'proxy-buffer-size': accepted('Portico streams; no buffer to size.'),
  'proxy-buffers-number': accepted('Portico streams.'),
  'proxy-request-buffering': accepted('Portico streams request bodies.'),
  'client-body-buffer-size': accepted('Portico streams request bodies.'),
  'proxy-max-temp-file-size': accepted('Portico keeps nothing on disk.'),
  'proxy-http-version': accepted('HTTP/1.1 to endpoints (HTTP/2 with backend-protocol GRPC).'),
  'connection-proxy-header': accepted('Portico manages Connection itself.'),
  'configuration-snippet': refused('nginx configuration: not interpreted; the Ingress is not served.'),
  'server-snippet': refused('nginx configuration: not interpreted; the Ingress is not served.'),
  'stream-snippet': refused('nginx configuration: not interpreted; the Ingress is not served.'),
  'modsecurity-snippet': refused('ModSecurity is not available; the Ingress is not served.'),
  'enable-modsecurity': refused('ModSecurity is not available; the Ingress is not served.'),
  'enable-owasp-core-rules': refused('ModSecurity is not available; the Ingress is not served.'),
  'modsecurity-transaction-id': refused('ModSecurity is not available; the Ingress is not served.'),
  canary: {
    support: 'yes',
    security: false,
    note: 'This Ingress is a canary of the Ingress with the same host and path: its backend gets the requests canary-by-header, canary-by-cookie and canary-weight choose (in that order), the main Ingress the rest.',
    parse: (value, s, all) => {
      const b = bool(value);
      if (b === undefined) return 'must be "true" or "false"';
      if (!b) return undefined;
      const at = (name: string) => all[`${NGINX_PREFIX}canary-${name}`];
      const weight = at('weight') === undefined ? 0 : integer(at('weight')!, 0, 1_000_000);
      const total = at('weight-total') === undefined ? 100 : integer(at('weight-total')!, 1, 1_000_000);
      if (weight === undefined || total === undefined || weight > total)
        return 'canary-weight must be a whole number from 0 to canary-weight-total (100)';
      const header = at('by-header');
      if (header !== undefined && wireProblem(TOKEN, header) !== undefined)
        return 'canary-by-header must be a header name';
      const headerValue = at('by-header-value');
      const headerPattern = at('by-header-pattern');
      if (headerPattern !== undefined) {
        try {
          new RegExp(headerPattern);
        } catch {
          return 'canary-by-header-pattern is not a valid regular expression';
        }
      }
      const cookie = at('by-cookie');
      if (cookie !== undefined && wireProblem(TOKEN, cookie) !== undefined)
        return 'canary-by-cookie must be a cookie name';
      s.canary = {
        weight,
        total,
        ...(header === undefined ? {} : { header }),
        ...(headerValue === undefined ? {} : { headerValue }),
        ...(headerPattern === undefined ? {} : { headerPattern }),
        ...(cookie === undefined ? {} : { cookie }),
      };
      return undefined;
    },
  },
  'canary-by-header': {
    support: 'yes',
    security: false,
    note: 'A request with this header set to `always` goes to the canary, `never` to the main backend.',
  },
  'canary-by-header-value': {
    support: 'yes',
    security: false,
    note: 'The header value that sends to the canary instead of `always`.',
  },
  'canary-by-header-pattern': {
    support: 'partly',
    security: false,
    note: 'A regular expression the whole header value must match (JavaScript syntax, not PCRE).',
  },
  'canary-by-cookie': {
    support: 'yes',
    security: false,
    note: 'A request with this cookie set to `always` goes to the canary, `never` to the main backend.',
  },
  'canary-weight': {
    support: 'yes',
    security: false,
    note: 'The share of the other requests the canary gets.',
  },
  'canary-weight-total': { support: 'yes', security: false, note: 'What canary-weight is out of (100).' },
};

function limit(
  value: string,
  s: NginxSettings,
  all: Readonly<Record<string, string>>,
  field: 'requestsPerSecond' | 'requestsPerMinute',
): string | undefined {
  const rate = integer(value, 1, 1_000_000);
  if (rate === undefined) return 'must be a whole number, 1 or more';
  const multiplierValue = all[`${NGINX_PREFIX}limit-burst-multiplier`];
  const multiplier = multiplierValue === undefined ? 5 : integer(multiplierValue, 1, 1_000);
  if (multiplier === undefined) return 'limit-burst-multiplier must be a whole number, 1 or more';
  const perSecond = field === 'requestsPerSecond' ? rate : rate / 60;
  s.route.rateLimit = {
    [field]: rate,
    burst: Math.max(1, Math.ceil(perSecond * multiplier)),
    key: 'client-ip',
    status: 503,
  };
  return undefined;
}

/**
 * readNginxAnnotations reads an Ingress's ingress-nginx annotations into Portico's terms, and says what
 * became of each: translated, accepted without effect, unsupported (the Ingress serves without it), or
 * fail-closed (a security-relevant annotation Portico cannot honour: the Ingress is not served unless
 * allowed). Other annotations are not ingress-nginx's and are left alone.
 */
export function readNginxAnnotations(annotations: Readonly<Record<string, string>> | undefined): {
  settings: NginxSettings;
  findings: NginxFinding[];
} {
  const s: NginxSettings = {
    route: {},
    service: {},
    useRegex: false,
    sslRedirect: undefined,
    forceSslRedirect: false,
    appRoot: undefined,
    wwwRedirect: false,
    aliases: [],
    authSecret: undefined,
    proxySslSecret: undefined,
    errorBackend: undefined,
    customErrors: undefined,
    canary: undefined,
    affinityOff: false,
  };
  const all: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations ?? {})) all[key] = value.trim();
  const findings: NginxFinding[] = [];
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith(NGINX_PREFIX)) continue;
    const name = key.slice(NGINX_PREFIX.length);
    const known = Object.hasOwn(NGINX_ANNOTATIONS, name) ? NGINX_ANNOTATIONS[name] : undefined;
    const finding = (outcome: NginxFinding['outcome'], detail: string) =>
      findings.push({
        annotation: name,
        value: value.slice(0, 200),
        support: known?.support ?? 'no',
        outcome,
        detail,
      });
    if (known === undefined) {
      finding('unsupported', 'not an annotation Portico knows; the Ingress is served without it');
      continue;
    }
    if (known.support === 'no') {
      finding(known.security ? 'fail-closed' : 'unsupported', known.note);
      continue;
    }
    if (known.support === 'accepted') {
      finding('accepted', known.note);
      continue;
    }
    const problem = known.parse?.(value, s, all);
    if (problem !== undefined)
      finding(
        known.security ? 'fail-closed' : 'invalid',
        `${problem}${known.security ? '; the Ingress is not served' : '; ignored'}`,
      );
    else finding('translated', known.note);
  }
  return { settings: s, findings };
}
