import { type Static, type TSchema, Type } from '@sinclair/typebox';
import {
  DEFAULT_ADMIN,
  DEFAULT_AFFINITY,
  DEFAULT_BALANCER,
  DEFAULT_CLIENT_HELLO_MS,
  DEFAULT_ENDPOINT_WEIGHT,
  DEFAULT_HASH_LOAD_FACTOR,
  DEFAULT_HEALTH_CHECK,
  DEFAULT_HSTS,
  DEFAULT_L4_IDLE_MS,
  DEFAULT_LIMITS,
  DEFAULT_LISTEN_ADDRESS,
  DEFAULT_MAX_CONCURRENT_HANDSHAKES,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_PANIC_THRESHOLD_PERCENT,
  DEFAULT_PATH_TYPE,
  DEFAULT_PER_SOURCE,
  DEFAULT_REQUEST_PARSING,
  DEFAULT_RETRIES,
  DEFAULT_SHUTDOWN,
  DEFAULT_TIMEOUTS,
  DEFAULT_TLS,
  DEFAULT_TRACE_SAMPLE_RATIO,
  DEFAULT_UPSTREAM_POOL,
  DEFAULT_WORKERS,
} from './defaults.ts';
import {
  BALANCERS,
  ESCAPED_SLASH_ACTIONS,
  HASH_SOURCES,
  PATH_TYPES,
  TLS_VERSIONS,
} from './schema-constants.ts';
import { StringEnum } from './string-enum.ts';
import {
  AUTHORITY,
  COOKIE_PATH,
  FIELD_VALUE,
  HOST_NAME,
  HOST_PATTERN,
  MEDIA_RANGE,
  QUERY_NAME,
  TOKEN,
  WIRE_PATH,
} from './wire-safe.ts';

/**
 * Defaulted marks a field that has a default: optional in the document (and in the published JSON
 * Schema), but always present once validated, so its static type is the non-optional one.
 */
function Defaulted<T extends TSchema>(schema: T): T {
  return Type.Optional(schema) as unknown as T;
}

const Milliseconds = (description: string, value: number) =>
  Defaulted(Type.Integer({ minimum: 1, maximum: 86_400_000, default: value, description }));
const Bytes = (description: string, value: number, minimum = 1) =>
  Defaulted(Type.Integer({ minimum, maximum: 2 ** 40, default: value, description }));

export const SniRouteSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'SNI host name: `a.example.com` or `*.example.com`.' }),
    service: Type.String({ minLength: 1, description: 'Service that gets connections for this name.' }),
  },
  { additionalProperties: false },
);

const Pem = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));
/**
 * Secret marks a string as secret with JSON Schema's `writeOnly`: the admin API, logs and errors never
 * show it (`redactSecrets`), and a config that carries the redaction placeholder keeps the current value.
 */
const Secret = <T extends TSchema>(schema: T): T => ({ ...schema, writeOnly: true }) as T;
const SecretPem = (description: string) => Type.Optional(Secret(Type.String({ minLength: 1, description })));
const PemFile = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));

export const CertificateSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$',
      description: 'Unique name that listeners refer to.',
    }),
    certFile: PemFile('PEM file with the certificate, then its chain; re-read when it changes.'),
    keyFile: PemFile('PEM file with the private key (RSA or ECDSA); re-read when it changes.'),
    cert: Pem('The certificate and chain as PEM text (instead of certFile).'),
    key: SecretPem('The private key as PEM text (instead of keyFile). Secret: never shown.'),
    hosts: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: "Names served (`a.example`, `*.example`); default: the certificate's DNS names.",
      }),
    ),
  },
  { additionalProperties: false },
);

export const ClientCertificateSchema = Type.Object(
  {
    caFile: PemFile('PEM file of the CAs client certificates must chain to.'),
    ca: Pem('The CAs as PEM text (instead of caFile).'),
    required: Defaulted(
      Type.Boolean({
        default: true,
        description: 'Refuse handshakes without a valid client certificate; false: verify when sent.',
      }),
    ),
    subjectHeader: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9-]+$',
        description: "Request header that carries the verified client certificate's subject to the backend.",
      }),
    ),
  },
  { additionalProperties: false, description: 'Verify client certificates (mutual TLS).' },
);

export const ListenerTlsSchema = Type.Object(
  {
    certificates: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Certificates offered by SNI, by name; default: every certificate.',
      }),
    ),
    defaultCertificate: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Certificate for clients with no or an unknown SNI; default: a generated self-signed one.',
      }),
    ),
    minVersion: Defaulted(
      StringEnum(TLS_VERSIONS, {
        default: DEFAULT_TLS.minVersion,
        description: 'Oldest TLS version accepted.',
      }),
    ),
    ciphers: Defaulted(
      Type.String({
        minLength: 1,
        default: DEFAULT_TLS.ciphers,
        description: 'TLS 1.2 cipher list (OpenSSL syntax); default: Mozilla intermediate.',
      }),
    ),
    http2: Defaulted(
      Type.Boolean({ default: DEFAULT_TLS.http2, description: 'Offer HTTP/2 (`h2`) by ALPN.' }),
    ),
    sessionTickets: Defaulted(
      Type.Boolean({ default: DEFAULT_TLS.sessionTickets, description: 'Resume sessions by TLS tickets.' }),
    ),
    sessionTicketKeyFile: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "File of 48 random bytes that encrypt this listener's session tickets (nginx's `ssl_session_ticket_key` format): instances that share it resume each other's sessions (mount one Secret on every edge node). Re-read on each config change; never shown. Default: keys of the process (the workers of one instance share the primary's).",
      }),
    ),
    ocspStapling: Defaulted(
      Type.Boolean({
        default: DEFAULT_TLS.ocspStapling,
        description:
          'Staple OCSP responses (fetched in the background from the responder each certificate names, cached until half their validity) to handshakes that ask.',
      }),
    ),
    handshakeTimeoutMs: Milliseconds('Time allowed for a TLS handshake.', DEFAULT_TLS.handshakeTimeoutMs),
    clientCertificate: Type.Optional(ClientCertificateSchema),
  },
  { additionalProperties: false, description: 'For `https`: certificates and TLS policy.' },
);

export const UpstreamTlsSchema = Type.Object(
  {
    caFile: PemFile("PEM file of the CAs that sign the endpoints' certificates; default: Node's roots."),
    ca: Pem('The CAs as PEM text (instead of caFile).'),
    serverName: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'SNI sent and name verified; default: the endpoint address.',
      }),
    ),
    certFile: PemFile('Client certificate presented to endpoints (mutual TLS).'),
    keyFile: PemFile('Private key of certFile.'),
    cert: Pem('Client certificate as PEM text.'),
    key: SecretPem('Its private key as PEM text. Secret: never shown.'),
    verify: Defaulted(
      Type.Boolean({
        default: true,
        description: "Verify the endpoint's certificate and name; false only for testing.",
      }),
    ),
  },
  { additionalProperties: false, description: 'Connect to endpoints over TLS.' },
);

export const HstsSchema = Type.Object(
  {
    maxAgeSeconds: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 2 ** 31,
        default: DEFAULT_HSTS.maxAgeSeconds,
        description: '`max-age` of Strict-Transport-Security.',
      }),
    ),
    includeSubDomains: Defaulted(
      Type.Boolean({ default: DEFAULT_HSTS.includeSubDomains, description: 'Add `includeSubDomains`.' }),
    ),
    preload: Defaulted(Type.Boolean({ default: DEFAULT_HSTS.preload, description: 'Add `preload`.' })),
  },
  {
    additionalProperties: false,
    description: 'Send Strict-Transport-Security on responses over HTTPS.',
  },
);

export const HttpsRedirectSchema = Type.Object(
  {
    port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65_535, description: 'HTTPS port in Location; default 443.' }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Answer every request with a redirect to HTTPS (301 for GET/HEAD, 308 otherwise).',
  },
);

const PS = DEFAULT_PER_SOURCE;
export const PerSourceSchema = Type.Object(
  {
    newConnectionsPerSecond: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        default: PS.newConnectionsPerSecond,
        description:
          'Connections one client address may open per second (burst: one second of them); beyond it they are closed at accept. 0: no limit.',
      }),
    ),
    resetStreamsPerSecond: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        default: PS.resetStreamsPerSecond,
        description:
          'HTTP/2 streams one client address may cancel per second over all its connections; beyond it its session gets GOAWAY and its new connections are closed for a second. 0: no limit.',
      }),
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'Limits on what one client address (the peer of the TCP connection) can cause here each second.',
  },
);

/** RefusalStatus is the status a limit refuses with: 429 or 503, defaulting to `value`. */
const RefusalStatus = (value: 429 | 503, description: string) =>
  Defaulted(Type.Unsafe<429 | 503>({ type: 'integer', enum: [429, 503], default: value, description }));

export const AccessListSchema = Type.Object(
  {
    allow: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        maxItems: 10_000,
        description: 'Addresses or CIDRs (IPv4, IPv6) allowed; when given, every other client gets 403.',
      }),
    ),
    deny: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        maxItems: 10_000,
        description: 'Addresses or CIDRs refused with 403, even when `allow` has them.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Which clients may be served, by the address Portico trusts (after the PROXY protocol and trusted X-Forwarded-For).',
  },
);

export const RateLimitSchema = Type.Object(
  {
    requestsPerSecond: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'Sustained rate per key.' }),
    ),
    requestsPerMinute: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 60_000_000,
        description: 'Sustained rate per key, per minute (instead of requestsPerSecond).',
      }),
    ),
    burst: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        description:
          'Requests a key may make at once above the rate; default: one second of the rate (at least 1).',
      }),
    ),
    key: Defaulted(
      StringEnum(['client-ip', 'header', 'route'] as const, {
        default: 'client-ip',
        description:
          'What is limited: each client address (as Portico trusts it), each value of `header`, or the route as a whole.',
      }),
    ),
    header: Type.Optional(
      Type.String({
        pattern: TOKEN,
        maxLength: 256,
        description: 'For key `header`: the header whose value is the key.',
      }),
    ),
    status: RefusalStatus(429, 'Status of a refused request (ingress-nginx answers 503).'),
    global: Defaulted(
      Type.Boolean({
        default: false,
        description:
          'Count in the `rateLimitStore` (Redis) shared by every Portico instance, per second or minute window (sliding), instead of in this instance alone.',
      }),
    ),
    onStoreFailure: Defaulted(
      StringEnum(['local', 'allow', 'deny'] as const, {
        default: 'local',
        description:
          'For a `global` limit while the store cannot be reached: `local` limits on what this instance counted, `allow` lets every request through (fail open), `deny` refuses them with 503 (fail closed).',
      }),
    ),
    headers: Defaulted(
      Type.Boolean({
        default: false,
        description:
          'Add `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds) to responses (IETF httpapi draft).',
      }),
    ),
    maxKeys: Defaulted(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        default: 100_000,
        description:
          'Keys tracked at most; the least recently seen are forgotten first (so a flood of new keys is bounded).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Local rate limit: a token bucket per key; a request without a token gets `status` with Retry-After.',
  },
);

/** DEFAULT_CORS_HEADERS are the request headers a preflight allows by default (ingress-nginx's list). */
const DEFAULT_CORS_HEADERS = [
  'DNT',
  'Keep-Alive',
  'User-Agent',
  'X-Requested-With',
  'If-Modified-Since',
  'Cache-Control',
  'Content-Type',
  'Range',
  'Authorization',
];

export const CorsSchema = Type.Object(
  {
    allowOrigins: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), {
      minItems: 1,
      maxItems: 1_000,
      description:
        'Origins allowed: exact (`https://app.example`, port included when not the default), a subdomain wildcard (`https://*.example.com`), or `*` (any origin, without credentials).',
    }),
    allowOriginPatterns: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 1_024 }), {
        maxItems: 100,
        description: 'Regular expressions an origin may match whole, besides `allowOrigins`.',
      }),
    ),
    allowMethods: Defaulted(
      Type.Array(Type.String({ pattern: TOKEN, maxLength: 32 }), {
        default: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'],
        description: 'Methods a preflight allows.',
      }),
    ),
    allowHeaders: Defaulted(
      Type.Array(Type.String({ pattern: TOKEN, maxLength: 256 }), {
        default: DEFAULT_CORS_HEADERS,
        description: 'Request headers a preflight allows.',
      }),
    ),
    exposeHeaders: Defaulted(
      Type.Array(Type.String({ pattern: TOKEN, maxLength: 256 }), {
        default: [],
        description: 'Response headers scripts may read.',
      }),
    ),
    allowCredentials: Defaulted(
      Type.Boolean({
        default: false,
        description: 'Let scripts send and read credentials (cookies, authorization).',
      }),
    ),
    maxAgeSeconds: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 86_400 * 365,
        default: 1_728_000,
        description: 'How long a browser may cache a preflight (ingress-nginx: 20 days).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Cross-origin resource sharing: preflights answered here, allowed origins told so on responses.',
  },
);

export const BasicAuthSchema = Type.Object(
  {
    realm: Defaulted(
      Type.String({
        pattern: '^[ !#-\\[\\]-~]{1,128}$',
        default: 'Restricted',
        description: 'The realm the browser shows (visible ASCII but `"` and `\\`).',
      }),
    ),
    htpasswdFile: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'An htpasswd file: `user:hash` lines, bcrypt (`$2y$`), apr1 (`$apr1$`) or SHA-1 (`{SHA}`); re-read when it changes.',
      }),
    ),
    users: Type.Optional(
      Secret(
        Type.Array(Type.String({ minLength: 3, maxLength: 1_024 }), {
          minItems: 1,
          maxItems: 100_000,
          description: 'The htpasswd lines themselves (instead of htpasswdFile). Secret: never shown.',
        }),
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'HTTP Basic authentication (RFC 7617) against htpasswd entries: 401 without valid credentials.',
  },
);

/** DEFAULT_COMPRESSIBLE_TYPES are the media types compressed by default: text formats that shrink well. */
const DEFAULT_COMPRESSIBLE_TYPES = [
  'text/html',
  'text/plain',
  'text/css',
  'text/javascript',
  'text/xml',
  'text/csv',
  'text/markdown',
  'application/javascript',
  'application/json',
  'application/ld+json',
  'application/manifest+json',
  'application/xml',
  'application/rss+xml',
  'application/atom+xml',
  'application/wasm',
  'image/svg+xml',
];

export const CompressionSchema = Type.Object(
  {
    encodings: Defaulted(
      Type.Array(StringEnum(['br', 'gzip'] as const), {
        minItems: 1,
        maxItems: 2,
        uniqueItems: true,
        default: ['br', 'gzip'],
        description:
          'Content codings offered, preferred first when the client weighs them equally (Accept-Encoding q-values decide otherwise).',
      }),
    ),
    minBytes: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 2 ** 30,
        default: 1_024,
        description:
          'Responses with a smaller Content-Length are sent as they are; a response of unknown length is compressed.',
      }),
    ),
    contentTypes: Defaulted(
      Type.Array(
        Type.String({
          pattern: MEDIA_RANGE,
          maxLength: 256,
          description: 'A media type (`text/html`) or a whole type (`text/*`), lower case.',
        }),
        {
          minItems: 1,
          maxItems: 1_000,
          default: DEFAULT_COMPRESSIBLE_TYPES,
          description: 'Media types compressed (parameters such as charset are ignored).',
        },
      ),
    ),
    gzipLevel: Defaulted(
      Type.Integer({
        minimum: 1,
        maximum: 9,
        default: 5,
        description: 'zlib level for gzip (1 fastest, 9 smallest).',
      }),
    ),
    brotliQuality: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 11,
        default: 4,
        description: 'Brotli quality (0 fastest, 11 smallest; above 5 costs far more CPU per byte saved).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Compress responses (gzip, brotli) for clients that accept it: 200, 403 and 404 responses of the listed types, not already encoded, not partial, not marked no-transform.',
  },
);

export const ForwardAuthSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^https?://[!-~]+$',
      maxLength: 2_048,
      description:
        'The authorization service: each request is first asked of it (ingress-nginx auth-url, Traefik ForwardAuth).',
    }),
    method: Defaulted(
      StringEnum(['GET', 'original'] as const, {
        default: 'GET',
        description:
          "Method of the auth request: GET (ingress-nginx), or the original request's (without its body).",
      }),
    ),
    requestHeaders: Type.Optional(
      Type.Array(Type.String({ pattern: TOKEN, maxLength: 256 }), {
        maxItems: 100,
        description:
          'Request headers passed to the auth service; default: all but hop-by-hop and framing ones.',
      }),
    ),
    responseHeaders: Defaulted(
      Type.Array(Type.String({ pattern: TOKEN, maxLength: 256 }), {
        maxItems: 100,
        default: [],
        description:
          'Headers of a 2xx auth answer copied to the upstream request (replacing any the client sent, even when the answer lacks them).',
      }),
    ),
    signInUrl: Type.Optional(
      Type.String({
        pattern: '^https?://[!-~]+$',
        maxLength: 2_048,
        description:
          'Where a 401 sends browsers instead (302), with `rd` set to the original URL (ingress-nginx auth-signin).',
      }),
    ),
    timeoutMs: Milliseconds('An auth service slower than this fails the request closed (500).', 2_000),
    cache: Type.Optional(
      Type.Object(
        {
          ttlMs: Type.Integer({
            minimum: 1,
            maximum: 86_400_000,
            description: 'How long an allow (2xx) or a refusal (401, 403) is reused.',
          }),
          keyHeaders: Type.Array(Type.String({ pattern: TOKEN, maxLength: 256 }), {
            minItems: 1,
            maxItems: 20,
            description: 'Request headers whose values make the cache key (Authorization, Cookie...).',
          }),
          maxEntries: Defaulted(
            Type.Integer({
              minimum: 1,
              maximum: 10_000_000,
              default: 10_000,
              description: 'Answers kept at most.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Reuse auth answers for requests with the same key headers.',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'External authorization: a 2xx from the auth service lets the request through, 401/403/3xx go back to the client, anything else (or no answer in time) is 500.',
  },
);

export const ErrorPageSchema = Type.Object(
  {
    statuses: Type.Array(Type.Integer({ minimum: 400, maximum: 599 }), {
      minItems: 1,
      maxItems: 200,
      uniqueItems: true,
      description: "Statuses this page answers for: Portico's own errors and upstream responses alike.",
    }),
    body: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1_048_576, description: 'The page itself (up to 1 MiB).' }),
    ),
    file: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'A file holding the page (up to 1 MiB), read when the config is applied and watched.',
      }),
    ),
    url: Type.Optional(
      Type.String({
        pattern: '^https?://[!-~]+$',
        maxLength: 2_048,
        description:
          'A service that renders the page (ingress-nginx custom-http-errors): asked with GET and X-Code, X-Format, X-Original-URI, X-Request-ID; its body and Content-Type are sent.',
      }),
    ),
    service: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A service of this config that renders the page, asked as `url` is, at one of its endpoints (no DNS needed).',
      }),
    ),
    contentType: Defaulted(
      Type.String({
        pattern: '^[!-~]+( [!-~]+)*$',
        maxLength: 256,
        default: 'text/html; charset=utf-8',
        description: 'Content-Type of a `body` or `file` page.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'A page sent instead of the response body for chosen statuses, keeping the status; give one of body, file, url and service.',
  },
);

const ErrorPagesSchema = Type.Array(ErrorPageSchema, {
  maxItems: 100,
  description: 'Custom error pages; the first that lists a status answers for it.',
});

export const InFlightSchema = Type.Object(
  {
    max: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: 'Requests of the route in flight at once.',
      }),
    ),
    maxPerClient: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: 'Requests of one client address (as Portico trusts it) in flight at once on the route.',
      }),
    ),
    status: RefusalStatus(503, 'Status of a request beyond a limit (ingress-nginx answers 503).'),
  },
  {
    additionalProperties: false,
    description: 'Limits on requests in flight: on the route as a whole, and per client address.',
  },
);

export const ListenerSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'Unique name of the listener.',
    }),
    address: Defaulted(
      Type.String({ minLength: 1, default: DEFAULT_LISTEN_ADDRESS, description: 'IP address to bind.' }),
    ),
    port: Type.Integer({
      minimum: 0,
      maximum: 65_535,
      description: 'TCP port to bind; 0 picks a free port.',
    }),
    gatewayPort: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65_535,
        description:
          "The port a Gateway API listener names to be served here, when it is not `port` (behind a NodePort, or a test's free port); default: `port`.",
      }),
    ),
    protocol: Defaulted(
      StringEnum(['http', 'https', 'tcp', 'tls-passthrough'] as const, {
        default: 'http',
        description:
          '`http` and `https` (routes), `tcp` (every connection to `service`) or `tls-passthrough` (by SNI).',
      }),
    ),
    service: Type.Optional(
      Type.String({ minLength: 1, description: 'For `tcp`: the service connections go to.' }),
    ),
    sni: Type.Optional(
      Type.Array(SniRouteSchema, {
        description: 'For `tls-passthrough`: services by SNI (exact and wildcard).',
      }),
    ),
    defaultService: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'For `tls-passthrough`: connections no `sni` entry matches.',
      }),
    ),
    proxyProtocol: Type.Optional(
      Type.Object(
        {
          trustedSources: Type.Array(Type.String({ minLength: 1 }), {
            minItems: 1,
            description: 'CIDRs that must send a PROXY v1/v2 header; from anyone else a header is refused.',
          }),
        },
        {
          additionalProperties: false,
          description: 'Accept the PROXY protocol from load balancers in front.',
        },
      ),
    ),
    maxConnections: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 10_000_000,
        default: 0,
        description: 'Most open connections; 0: no limit.',
      }),
    ),
    idleTimeoutMs: Defaulted(
      Type.Integer({
        minimum: 1,
        maximum: 86_400_000,
        default: DEFAULT_L4_IDLE_MS,
        description: 'For `tcp` and `tls-passthrough`: close after this long with no byte either way.',
      }),
    ),
    maxBytesPerSecond: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 2 ** 40,
        default: 0,
        description: 'Per connection and direction; 0: no cap.',
      }),
    ),
    tls: Type.Optional(ListenerTlsSchema),
    h2c: Defaulted(
      Type.Boolean({
        default: false,
        description: 'For `http`: accept HTTP/2 with prior knowledge (cleartext, no TLS).',
      }),
    ),
    perSource: Defaulted(PerSourceSchema),
    maxConcurrentHandshakes: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        default: DEFAULT_MAX_CONCURRENT_HANDSHAKES,
        description:
          'For `https`: TLS handshakes in progress at once; more connections wait, unread, within the handshake timeout. 0: no cap.',
      }),
    ),
    httpsRedirect: Type.Optional(HttpsRedirectSchema),
    access: Type.Optional(AccessListSchema),
    hostnames: Type.Optional(
      Type.Array(Type.String({ pattern: HOST_PATTERN, maxLength: 253 }), {
        minItems: 1,
        maxItems: 1_024,
        description:
          "For `http` and `https`: the only hosts served here (exact, or `*.example.com` for any name under it, as a Gateway API listener's hostname); requests for others get 404.",
      }),
    ),
    escapedSlashes: Type.Optional(
      StringEnum(ESCAPED_SLASH_ACTIONS, {
        description:
          'For `http` and `https`: what `%2F` and `%5C` in a path do here; default: requestParsing.escapedSlashes.',
      }),
    ),
    clientHelloTimeoutMs: Defaulted(
      Type.Integer({
        minimum: 1,
        maximum: 600_000,
        default: DEFAULT_CLIENT_HELLO_MS,
        description: 'For `tls-passthrough`: time allowed for the whole ClientHello.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const BackendSchema = Type.Object(
  {
    service: Type.String({ minLength: 1, description: 'Name of the service.' }),
    unresolved: Type.Optional(
      Type.Boolean({
        description:
          'The backend could not be resolved (a Gateway API backendRef to a missing Service, or one not permitted): its share of requests is answered 500, and `service` only names it.',
      }),
    ),
    weight: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        default: 1,
        description: "The service's share, relative to the others' weights; 0 sends it nothing.",
      }),
    ),
  },
  { additionalProperties: false },
);

const ValueMatchType = Defaulted(
  StringEnum(['Exact', 'RegularExpression'] as const, {
    default: 'Exact',
    description:
      'Exact: the value as written; RegularExpression: a JavaScript expression matching the whole value.',
  }),
);

export const HeaderMatchSchema = Type.Object(
  {
    name: Type.String({ pattern: TOKEN, maxLength: 256, description: 'Header field name (any case).' }),
    value: Type.String({ pattern: FIELD_VALUE, maxLength: 4_096, description: 'Value to match.' }),
    type: ValueMatchType,
  },
  { additionalProperties: false },
);

export const QueryParamMatchSchema = Type.Object(
  {
    name: Type.String({
      pattern: QUERY_NAME,
      maxLength: 256,
      description: 'Query parameter name, as sent (visible ASCII but "&" and "=").',
    }),
    value: Type.String({ pattern: FIELD_VALUE, maxLength: 4_096, description: 'Value to match, undecoded.' }),
    type: ValueMatchType,
  },
  { additionalProperties: false },
);

const HeaderName = Type.String({ pattern: TOKEN, description: 'A header field name.' });
const HeaderValue = Type.String({ pattern: FIELD_VALUE, maxLength: 8_192 });

export const HeaderRulesSchema = Type.Object(
  {
    set: Type.Optional(
      Type.Record(Type.String(), HeaderValue, {
        description: 'Fields to set, replacing any the message has.',
      }),
    ),
    add: Type.Optional(
      Type.Record(Type.String(), HeaderValue, { description: 'Fields to add after those present.' }),
    ),
    remove: Type.Optional(Type.Array(HeaderName, { description: 'Fields to remove.' })),
  },
  { additionalProperties: false, description: 'Header changes: remove, then set, then add.' },
);

export const RedirectSchema = Type.Object(
  {
    scheme: Type.Optional(
      StringEnum(['http', 'https'] as const, {
        description: "Scheme of the target; default: the request's.",
      }),
    ),
    host: Type.Optional(
      Type.String({
        pattern: HOST_NAME,
        maxLength: 253,
        description: "Host of the target; default: the request's.",
      }),
    ),
    port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65_535, description: 'Port of the target; default: none.' }),
    ),
    path: Type.Optional(
      Type.String({
        pattern: WIRE_PATH,
        maxLength: 4_096,
        description: "Path of the target; default: the request's (query kept).",
      }),
    ),
    prefix: Type.Optional(
      Type.String({
        pattern: WIRE_PATH,
        maxLength: 4_096,
        description:
          "Replaces the prefix the rule matched in the target's path (Prefix paths; the rest and the query are kept), as the Gateway API's ReplacePrefixMatch.",
      }),
    ),
    status: Type.Optional(
      Type.Unsafe<301 | 302 | 303 | 307 | 308>({
        type: 'integer',
        enum: [301, 302, 303, 307, 308],
        description: 'Status; default: 301 for GET and HEAD, 308 otherwise.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Answer with a redirect instead of proxying.' },
);

export const RouteTimeoutsSchema = Type.Object(
  {
    clientBodyIdleMs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'As timeouts.clientBodyIdleMs.' }),
    ),
    clientBodyMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 86_400_000,
        description: 'As timeouts.clientBodyMs (long uploads).',
      }),
    ),
    upstreamConnectMs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'As timeouts.upstreamConnectMs.' }),
    ),
    upstreamResponseHeadMs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'As timeouts.upstreamResponseHeadMs.' }),
    ),
    upstreamIdleMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 86_400_000,
        description: 'As timeouts.upstreamIdleMs (also a mid-response stall).',
      }),
    ),
    requestMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 86_400_000,
        description: "As timeouts.requestMs (the Gateway API's request timeout).",
      }),
    ),
  },
  { additionalProperties: false, description: 'Timeouts for this route, overriding `timeouts`.' },
);

export const UrlRewriteSchema = Type.Object(
  {
    host: Type.Optional(
      Type.String({
        pattern: AUTHORITY,
        maxLength: 261,
        description: "Host (and optional port) sent upstream instead of the client's.",
      }),
    ),
    fullPath: Type.Optional(
      Type.String({
        pattern: WIRE_PATH,
        maxLength: 4_096,
        description: 'Path sent upstream instead of the whole request path (the query is kept).',
      }),
    ),
    prefix: Type.Optional(
      Type.String({
        pattern: WIRE_PATH,
        maxLength: 4_096,
        description: 'Replaces the prefix the rule matched (Prefix paths; the rest and the query are kept).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "URL rewrite, as the Gateway API's URLRewrite filter: the host, and the full path or the matched prefix.",
  },
);

export const MirrorSchema = Type.Object(
  {
    service: Type.String({ minLength: 1, description: 'Service that gets the copies (HTTP/1.1).' }),
    percent: Defaulted(
      Type.Number({ minimum: 0, maximum: 100, default: 100, description: 'Share of requests copied.' }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Send a copy of each request to another service as well, fire and forget: its response is thrown away and nobody waits for it.',
  },
);

export const RouteRetriesSchema = Type.Object(
  {
    attempts: Type.Integer({
      minimum: 0,
      maximum: 10,
      description:
        "Retries of an idempotent request on another endpoint, for this route, instead of its service's `retries.attempts` (the service's budget still applies).",
    }),
  },
  { additionalProperties: false },
);

export const PathFilterSchema = Type.Object(
  {
    requestHeaders: Type.Optional(HeaderRulesSchema),
    responseHeaders: Type.Optional(HeaderRulesSchema),
    redirect: Type.Optional(RedirectSchema),
    rewrite: Type.Optional(UrlRewriteSchema),
    mirror: Type.Optional(MirrorSchema),
    timeouts: Type.Optional(RouteTimeoutsSchema),
    retries: Type.Optional(RouteRetriesSchema),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    description:
      'One filter, named by its one field: requestHeaders, responseHeaders, redirect, rewrite, mirror, timeouts or retries.',
  },
);

export const RoutePathSchema = Type.Object(
  {
    path: Type.String({
      pattern: '^/',
      maxLength: 4_096,
      description: 'Request path to match; starts with "/".',
    }),
    type: Defaulted(
      StringEnum(PATH_TYPES, { default: DEFAULT_PATH_TYPE, description: 'How `path` matches (Ingress v1).' }),
    ),
    regex: Defaulted(
      Type.Boolean({
        default: false,
        description:
          'With type ImplementationSpecific: `path` is a regular expression matched from the start of the request path.',
      }),
    ),
    service: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Name of the service that serves this path. Leave it out for `backends`, or with a `redirect` (on the route or in `filters`).',
      }),
    ),
    method: Type.Optional(
      StringEnum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'] as const, {
        description: 'Only requests with this method match the path.',
      }),
    ),
    headers: Type.Optional(
      Type.Array(HeaderMatchSchema, {
        maxItems: 16,
        description: 'Only requests with every one of these header values match the path.',
      }),
    ),
    queryParams: Type.Optional(
      Type.Array(QueryParamMatchSchema, {
        maxItems: 16,
        description: 'Only requests with every one of these query parameter values match the path.',
      }),
    ),
    filters: Type.Optional(
      Type.Array(PathFilterSchema, {
        maxItems: 16,
        description:
          "This path's own filters, run in the order listed after the route's (a Gateway API rule's filters); `mirror` may repeat, the others may not. A path with a `redirect` needs no service.",
      }),
    ),
    backends: Type.Optional(
      Type.Array(BackendSchema, {
        minItems: 1,
        maxItems: 64,
        description:
          'Services that share this path by weight (canary and N-way splits), instead of one `service`.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RouteSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, description: 'Name used in logs and metrics.' })),
    host: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          'Host to match: `foo.example.com`, `*.example.com` (one label under it, as Ingress) or `**.example.com` (any number of labels, as the Gateway API); omitted matches any host.',
      }),
    ),
    paths: Type.Array(RoutePathSchema, { minItems: 1, description: 'Paths served under this host.' }),
    listeners: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          "The `http` and `https` listeners (by name) this route serves on (a Gateway API parentRef's sectionName); default: all.",
      }),
    ),
    rewriteTarget: Type.Optional(
      Type.String({
        pattern: WIRE_PATH,
        maxLength: 4_096,
        description:
          'Replace the part of the path the rule matched with this (rewrite-target); `$1`... are regex groups.',
      }),
    ),
    rewrite: Type.Optional(UrlRewriteSchema),
    redirect: Type.Optional(RedirectSchema),
    httpsRedirect: Defaulted(
      Type.Boolean({
        default: false,
        description:
          'Redirect requests that came over plain HTTP to HTTPS (301 for GET/HEAD, 308 otherwise).',
      }),
    ),
    hsts: Type.Optional(HstsSchema),
    requestHeaders: Type.Optional(HeaderRulesSchema),
    responseHeaders: Type.Optional(HeaderRulesSchema),
    retries: Type.Optional(RouteRetriesSchema),
    mirror: Type.Optional(MirrorSchema),
    timeouts: Type.Optional(RouteTimeoutsSchema),
    access: Type.Optional(AccessListSchema),
    rateLimit: Type.Optional(RateLimitSchema),
    cors: Type.Optional(CorsSchema),
    basicAuth: Type.Optional(BasicAuthSchema),
    inFlight: Type.Optional(InFlightSchema),
    compression: Type.Optional(CompressionSchema),
    forwardAuth: Type.Optional(ForwardAuthSchema),
    errorPages: Type.Optional(ErrorPagesSchema),
    maxBodyBytes: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 2 ** 40,
        description: 'Largest request body for this route (413); 0: no limit.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const EndpointSchema = Type.Object(
  {
    address: Type.String({ minLength: 1, description: 'IP address or host name of the endpoint.' }),
    port: Type.Integer({ minimum: 1, maximum: 65_535, description: 'TCP port of the endpoint.' }),
    weight: Defaulted(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        default: DEFAULT_ENDPOINT_WEIGHT,
        description: 'Relative share of traffic.',
      }),
    ),
    ready: Defaulted(
      Type.Boolean({
        default: true,
        description: 'EndpointSlice `ready`: new requests go to ready endpoints.',
      }),
    ),
    serving: Type.Optional(
      Type.Boolean({
        description: 'EndpointSlice `serving`; defaults to `ready`. Used when no endpoint is ready.',
      }),
    ),
    terminating: Defaulted(
      Type.Boolean({ default: false, description: 'EndpointSlice `terminating`: the pod is shutting down.' }),
    ),
  },
  { additionalProperties: false },
);

const Count = (description: string, value: number, minimum = 0, maximum = 1_000_000) =>
  Defaulted(Type.Integer({ minimum, maximum, default: value, description }));

export const HashKeySchema = Type.Object(
  {
    source: StringEnum(HASH_SOURCES, { description: 'Where the key comes from.' }),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Header, cookie or query parameter name (for those sources).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'What ring-hash and maglev hash; absent keys fall back to round robin.',
  },
);

export const AffinitySchema = Type.Object(
  {
    type: StringEnum(['cookie', 'client-ip', 'header'] as const, {
      description: 'What pins a client to an endpoint.',
    }),
    headerName: Type.Optional(
      Type.String({ pattern: TOKEN, description: 'For `header`: the header whose value pins.' }),
    ),
    ttlSeconds: Count(
      'How long a pin lives after its last use (cookie Max-Age too).',
      DEFAULT_AFFINITY.ttlSeconds,
      1,
      31_536_000,
    ),
    maxEntries: Count(
      'Most pins a client-ip or header table holds (least recently used go first).',
      DEFAULT_AFFINITY.maxEntries,
      1,
      10_000_000,
    ),
    cookieName: Defaulted(
      Type.String({
        pattern: TOKEN,
        default: DEFAULT_AFFINITY.cookieName,
        description: 'Cookie name.',
      }),
    ),
    cookiePath: Defaulted(
      Type.String({ pattern: COOKIE_PATH, maxLength: 1_024, default: '/', description: 'Cookie Path.' }),
    ),
    cookieSameSite: Defaulted(
      StringEnum(['Strict', 'Lax', 'None'] as const, { default: 'Lax', description: 'Cookie SameSite.' }),
    ),
    cookieSecure: Defaulted(
      Type.Boolean({ default: false, description: 'Cookie Secure (set it behind TLS).' }),
    ),
    cookieHttpOnly: Defaulted(Type.Boolean({ default: true, description: 'Cookie HttpOnly.' })),
    secret: Type.Optional(
      Secret(
        Type.String({
          minLength: 16,
          description:
            'HMAC key for cookies; set the same on every instance. Default: random per instance (shared by its workers).',
        }),
      ),
    ),
  },
  { additionalProperties: false, description: 'Session affinity: keep a client on one endpoint.' },
);

const H = DEFAULT_HEALTH_CHECK;
export const HealthCheckSchema = Type.Object(
  {
    type: StringEnum(['http', 'tcp'] as const, { description: 'HTTP GET, or a TCP connect.' }),
    path: Defaulted(
      Type.String({
        pattern: WIRE_PATH,
        maxLength: 4_096,
        default: H.path,
        description: 'Path an HTTP check requests.',
      }),
    ),
    host: Type.Optional(
      Type.String({
        pattern: AUTHORITY,
        maxLength: 261,
        description: 'Host header of an HTTP check; default: the endpoint.',
      }),
    ),
    expectedStatuses: Defaulted(
      Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
        default: [],
        description: 'Statuses that pass an HTTP check; empty means 200-399.',
      }),
    ),
    intervalMs: Count('Time between two probes of an endpoint.', H.intervalMs, 100, 3_600_000),
    timeoutMs: Count('Time allowed for one probe.', H.timeoutMs, 10, 600_000),
    jitterMs: Count('Random extra delay added to each interval.', H.jitterMs, 0, 600_000),
    healthyThreshold: Count('Consecutive passes that mark an endpoint healthy.', H.healthyThreshold, 1, 100),
    unhealthyThreshold: Count('Consecutive failures that mark it unhealthy.', H.unhealthyThreshold, 1, 100),
  },
  { additionalProperties: false, description: 'Active health checks, one probe loop per endpoint.' },
);

const O = DEFAULT_OUTLIER_DETECTION;
export const OutlierDetectionSchema = Type.Object(
  {
    consecutiveFailures: Count(
      'Consecutive 5xx or connect failures that eject an endpoint; 0: never.',
      O.consecutiveFailures,
    ),
    baseEjectionMs: Count(
      'First ejection length; each repeat adds one more.',
      O.baseEjectionMs,
      1,
      86_400_000,
    ),
    maxEjectionMs: Count('Longest ejection.', O.maxEjectionMs, 1, 86_400_000),
    maxEjectionPercent: Count(
      'Most of the service that may be ejected at once.',
      O.maxEjectionPercent,
      0,
      100,
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Passive health checking from real traffic (on by default).',
  },
);

const R = DEFAULT_RETRIES;
export const RetriesSchema = Type.Object(
  {
    attempts: Count(
      'Retries of an idempotent request that failed before any response byte reached the client.',
      R.attempts,
      0,
      10,
    ),
    budgetPercent: Count(
      'Retries in flight may be at most this share of active requests...',
      R.budgetPercent,
      0,
      100,
    ),
    minConcurrency: Count('...but this many retries may always be in flight.', R.minConcurrency, 0, 1_000),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Retries beyond the always-safe retry of a failed connect.',
  },
);

export const ServiceSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$',
      description: 'Unique name that routes refer to.',
    }),
    endpoints: Defaulted(
      Type.Array(EndpointSchema, { default: [], description: 'Where requests for this service go.' }),
    ),
    balancer: Defaulted(
      StringEnum(BALANCERS, { default: DEFAULT_BALANCER, description: 'Load-balancing policy.' }),
    ),
    hashKey: Type.Optional(HashKeySchema),
    hashLoadFactor: Defaulted(
      Type.Number({
        minimum: 0,
        maximum: 100,
        default: DEFAULT_HASH_LOAD_FACTOR,
        description:
          'Bounded loads for ring-hash and maglev: no endpoint over this x the average; 0 turns it off.',
      }),
    ),
    affinity: Type.Optional(AffinitySchema),
    maxConnectionsPerEndpoint: Count('Most requests in flight to one endpoint; 0: no limit.', 0),
    maxPendingRequests: Count('Most requests in flight to the whole service (503 beyond); 0: no limit.', 0),
    slowStartMs: Count(
      "A new or recovered endpoint's share ramps up over this window; 0: off.",
      0,
      0,
      3_600_000,
    ),
    panicThresholdPercent: Count(
      'Below this share of available endpoints, balance over all of them.',
      DEFAULT_PANIC_THRESHOLD_PERCENT,
      0,
      100,
    ),
    healthCheck: Type.Optional(HealthCheckSchema),
    proxyProtocol: Type.Optional(
      StringEnum(['v1', 'v2'] as const, {
        description: 'Send a PROXY protocol header to endpoints (L4 listeners).',
      }),
    ),
    outlierDetection: Defaulted(OutlierDetectionSchema),
    retries: Defaulted(RetriesSchema),
    tls: Type.Optional(UpstreamTlsSchema),
    protocol: Defaulted(
      StringEnum(['http1', 'http2'] as const, {
        default: 'http1',
        description:
          'What HTTP requests speak to the endpoints: http1 (pooled keep-alive connections) or http2 (multiplexed sessions: h2 by ALPN with tls, prior-knowledge h2c without; needed for gRPC).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ForwardingSchema = Type.Object(
  {
    trustedProxies: Defaulted(
      Type.Array(Type.String({ minLength: 1 }), {
        default: [],
        description:
          'CIDRs (`10.0.0.0/8`, `::1/128`) of proxies in front of Portico whose X-Forwarded-* and Forwarded are kept.',
      }),
    ),
    forwardedHeader: Defaulted(
      Type.Boolean({ default: false, description: 'Also send an RFC 7239 `Forwarded` field upstream.' }),
    ),
    viaHeader: Defaulted(
      Type.Boolean({ default: false, description: 'Add `Via: 1.1 portico` to requests and responses.' }),
    ),
  },
  { additionalProperties: false, default: {}, description: 'What Portico tells upstreams about clients.' },
);

const T = DEFAULT_TIMEOUTS;
export const TimeoutsSchema = Type.Object(
  {
    clientHeadMs: Milliseconds(
      'Time allowed from the first byte of a request to the end of its head.',
      T.clientHeadMs,
    ),
    clientIdleMs: Milliseconds(
      'Idle time after which a client keep-alive connection is closed.',
      T.clientIdleMs,
    ),
    clientBodyIdleMs: Milliseconds('Longest pause between two reads of a request body.', T.clientBodyIdleMs),
    clientBodyMs: Milliseconds(
      'Longest a whole request body may take, from its head (408 beyond).',
      T.clientBodyMs,
    ),
    clientBodyRateGraceMs: Milliseconds(
      'How long a request body may take before limits.minClientBodyBytesPerSecond applies.',
      T.clientBodyRateGraceMs,
    ),
    upstreamConnectMs: Milliseconds('Time allowed for a TCP connect to an endpoint.', T.upstreamConnectMs),
    upstreamResponseHeadMs: Milliseconds(
      "Time allowed for the upstream's response head after the request was sent.",
      T.upstreamResponseHeadMs,
    ),
    upstreamIdleMs: Milliseconds(
      'Idle time after which a pooled upstream connection is closed; also the longest stall mid-response.',
      T.upstreamIdleMs,
    ),
    requestMs: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 86_400_000,
        default: T.requestMs,
        description:
          'Time allowed for a whole exchange once routed, response included (504 before the response starts, cut short after); 0: no limit.',
      }),
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Timeouts in milliseconds; each fires within 250 ms of expiry.',
  },
);

const RP = DEFAULT_REQUEST_PARSING;
export const RequestParsingSchema = Type.Object(
  {
    headersWithUnderscores: Defaulted(
      StringEnum(['allow', 'drop', 'reject'] as const, {
        default: RP.headersWithUnderscores,
        description:
          'Request fields whose names hold "_": forwarded, dropped, or refused with 400. A backend that folds "_" into "-" (CGI, WSGI) would read `Transfer_Encoding` as framing.',
      }),
    ),
    normalizePath: Defaulted(
      Type.Boolean({
        default: RP.normalizePath,
        description:
          'Remove dot segments (RFC 3986 5.2.4) and decode percent-encoded unreserved characters before routing; the upstream gets the path that was routed.',
      }),
    ),
    mergeSlashes: Defaulted(
      Type.Boolean({ default: RP.mergeSlashes, description: 'Merge runs of "/" in the path into one.' }),
    ),
    escapedSlashes: Defaulted(
      StringEnum(ESCAPED_SLASH_ACTIONS, {
        default: RP.escapedSlashes,
        description:
          '`%2F` and `%5C` in the path: kept as sent, decoded to "/" and "\\", or refused with 400.',
      }),
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'How request heads are normalised before routing (also per listener).',
  },
);

const L = DEFAULT_LIMITS;
export const LimitsSchema = Type.Object(
  {
    maxRequestLineBytes: Bytes('Longest request line accepted (414 beyond it).', L.maxRequestLineBytes),
    maxHeadBytes: Bytes('Largest request head accepted (431 beyond it).', L.maxHeadBytes),
    maxHeaderCount: Bytes('Most header fields in one request head (431 beyond it).', L.maxHeaderCount),
    maxBodyBytes: Bytes(
      'Largest request body accepted (413 beyond it); 0 means no limit.',
      L.maxBodyBytes,
      0,
    ),
    maxResponseHeadBytes: Bytes('Largest response head accepted from an upstream.', L.maxResponseHeadBytes),
    minClientBodyBytesPerSecond: Bytes(
      'Slowest average rate of a request body after timeouts.clientBodyRateGraceMs (408 below); 0: no minimum.',
      L.minClientBodyBytesPerSecond,
      0,
    ),
    http2MaxConcurrentStreams: Defaulted(
      Type.Integer({
        minimum: 1,
        maximum: 2 ** 31 - 1,
        default: L.http2MaxConcurrentStreams,
        description: 'Streams one HTTP/2 client may have open; more are refused (REFUSED_STREAM).',
      }),
    ),
    http2MaxHeaderListBytes: Bytes(
      'Largest HTTP/2 header list (decoded) accepted.',
      L.http2MaxHeaderListBytes,
    ),
    http2MaxResetsPerSecond: Defaulted(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        default: L.http2MaxResetsPerSecond,
        description: 'Streams a client may cancel per second before its session is closed (rapid reset).',
      }),
    ),
  },
  { additionalProperties: false, default: {}, description: 'Limits on what clients and upstreams control.' },
);

const P = DEFAULT_UPSTREAM_POOL;
export const UpstreamPoolSchema = Type.Object(
  {
    maxIdlePerEndpoint: Bytes('Idle keep-alive connections kept per endpoint.', P.maxIdlePerEndpoint, 0),
    maxRequestsPerConnection: Bytes(
      'Requests after which an upstream connection is retired; 0 means never.',
      P.maxRequestsPerConnection,
      0,
    ),
  },
  { additionalProperties: false, default: {}, description: 'Keep-alive connections kept to each endpoint.' },
);

export const ShutdownSchema = Type.Object(
  {
    drainTimeoutMs: Milliseconds(
      'How long in-flight requests may run after SIGTERM/SIGINT.',
      DEFAULT_SHUTDOWN.drainTimeoutMs,
    ),
  },
  { additionalProperties: false, default: {}, description: 'What happens on SIGTERM and SIGINT.' },
);

export const AdminSchema = Type.Object(
  {
    address: Defaulted(
      Type.String({
        minLength: 1,
        default: DEFAULT_ADMIN.address,
        description: 'Address the admin API binds: loopback unless allowRemote.',
      }),
    ),
    port: Defaulted(
      Type.Integer({
        minimum: 0,
        maximum: 65_535,
        default: DEFAULT_ADMIN.port,
        description: 'Admin API port; 0 picks a free one.',
      }),
    ),
    token: Type.Optional(
      Secret(
        Type.String({
          minLength: 16,
          description: 'Bearer token for every call that changes state; without it those calls are refused.',
        }),
      ),
    ),
    allowRemote: Defaulted(
      Type.Boolean({
        default: false,
        description: 'Allow binding an address other than loopback (put the token and a firewall in front).',
      }),
    ),
    historyIntervalMs: Defaulted(
      Type.Integer({
        minimum: 100,
        maximum: 60_000,
        default: 5_000,
        description: "How often the dashboard's charts sample the counters (the last 15 minutes are kept).",
      }),
    ),
  },
  { additionalProperties: false, description: 'The admin API: health, routes, services, metrics, drain.' },
);

export const AcmeSchema = Type.Object(
  {
    directoryUrl: Type.String({
      pattern: '^https://[!-~]+$',
      maxLength: 2_048,
      description:
        "The ACME server's directory (RFC 8555), e.g. Let's Encrypt staging: `https://acme-staging-v02.api.letsencrypt.org/directory`.",
    }),
    email: Type.Optional(
      Type.String({
        pattern: '^[^\\s@]+@[^\\s@]+$',
        maxLength: 254,
        description: 'Contact for the account (expiry notices from the CA).',
      }),
    ),
    storageDir: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Static config: where the account key and each host's certificate and key are kept (created, mode 0700); instances sharing it take turns with lock files. With --kubernetes they are Secrets.",
      }),
    ),
    hosts: Type.Optional(
      Type.Array(Type.String({ pattern: HOST_NAME, maxLength: 253 }), {
        minItems: 1,
        maxItems: 100,
        uniqueItems: true,
        description:
          'Static config: the hosts to get certificates for, one each (no wildcards: HTTP-01 and TLS-ALPN-01 cannot prove them). With --kubernetes, the TLS hosts of Ingresses annotated `portico.dev/acme: "true"`.',
      }),
    ),
    challenge: Defaulted(
      StringEnum(['http-01', 'tls-alpn-01'] as const, {
        default: 'http-01',
        description:
          'How ownership is proven: `http-01`, answered by Portico on its HTTP listeners (port 80 for a public CA), or `tls-alpn-01` (RFC 8737), answered on its `https` listeners (port 443) to handshakes offering `acme-tls/1`.',
      }),
    ),
    caFile: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "CA certificates (PEM) to trust for the ACME server's own TLS, for a private CA or a test server.",
      }),
    ),
    renewAtRatio: Defaulted(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        default: 2 / 3,
        description: "When in a certificate's lifetime it is renewed: 2/3 by default (day 60 of 90).",
      }),
    ),
    checkIntervalMs: Defaulted(
      Type.Integer({
        minimum: 1_000,
        maximum: 86_400_000,
        default: 3_600_000,
        description: 'How often certificates are checked for renewal.',
      }),
    ),
    retryMinMs: Defaulted(
      Type.Integer({
        minimum: 1_000,
        maximum: 86_400_000,
        default: 60_000,
        description: 'The first wait after a failed order; doubled after each failure, up to 6 hours.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "Automatic HTTPS: certificates from an ACME CA (Let's Encrypt) for `hosts`, ordered, stored and renewed by Portico, served on the https listeners.",
  },
);

export const TracingSchema = Type.Object(
  {
    sampleRatio: Defaulted(
      Type.Number({
        minimum: 0,
        maximum: 1,
        default: DEFAULT_TRACE_SAMPLE_RATIO,
        description:
          'Share of requests that start a sampled trace when they come without one; a request whose `traceparent` says sampled is always traced.',
      }),
    ),
    serviceName: Defaulted(
      Type.String({
        pattern: '^[!-~]+$',
        maxLength: 256,
        default: 'portico',
        description: "The spans' `service.name`.",
      }),
    ),
    otlp: Type.Optional(
      Type.Object(
        {
          endpoint: Type.String({
            pattern: '^https?://[!-~]+$',
            maxLength: 2_048,
            description: 'OTLP/HTTP traces URL, e.g. `http://otel-collector:4318/v1/traces`.',
          }),
          headers: Type.Optional(
            Secret(
              Type.Record(Type.String({ pattern: TOKEN, maxLength: 256 }), HeaderValue, {
                description: 'Fields sent with each export (an API key). Secret: never shown.',
              }),
            ),
          ),
          timeoutMs: Defaulted(
            Type.Integer({
              minimum: 1,
              maximum: 600_000,
              default: 10_000,
              description: 'Time allowed for one export.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'Export spans over OTLP/HTTP (JSON) with the OpenTelemetry SDK, in batches, off the request path.',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'W3C trace context: Portico continues the trace a request carries (`traceparent`, `tracestate` passed on) or starts one, sends its own span id upstream, and exports a span per sampled request when `otlp` is set.',
  },
);

/** PorticoConfigSchema is the whole config document (`portico.yaml`). */
export const RateLimitStoreSchema = Type.Object(
  {
    redis: Type.Object(
      {
        url: Secret(
          Type.String({
            pattern: '^rediss?://[!-~]+$',
            maxLength: 2_048,
            description:
              'redis://[user:password@]host:port[/db], or rediss:// for TLS. Secret: never shown (it may hold a password).',
          }),
        ),
      },
      { additionalProperties: false, description: 'The Redis server every instance shares.' },
    ),
    keyPrefix: Defaulted(
      Type.String({
        pattern: '^[!-~]{0,128}$',
        default: 'portico:rl:',
        description: 'Prefix of every key Portico writes.',
      }),
    ),
    timeoutMs: Milliseconds(
      'A store command slower than this fails (the store counts as down until one succeeds).',
      100,
    ),
    syncIntervalMs: Milliseconds(
      'How often each instance adds what it counted to the shared counts and reads the others: a limit may be passed by at most what all instances admit in one interval.',
      100,
    ),
  },
  {
    additionalProperties: false,
    description:
      'Where `global` rate limits count, shared by every Portico instance (the DaemonSet pods of a cluster).',
  },
);

export const PorticoConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Path or URL of this JSON Schema, for editors.' })),
    certificates: Defaulted(
      Type.Array(CertificateSchema, {
        default: [],
        description: 'TLS certificates for `https` listeners, chosen by SNI.',
      }),
    ),
    listeners: Type.Array(ListenerSchema, {
      minItems: 1,
      description: 'Sockets Portico accepts clients on.',
    }),
    routes: Defaulted(Type.Array(RouteSchema, { default: [], description: 'Host and path rules.' })),
    services: Defaulted(
      Type.Array(ServiceSchema, { default: [], description: 'Named groups of endpoints.' }),
    ),
    defaultService: Type.Optional(
      Type.String({ minLength: 1, description: 'Service for requests no route matches; without one, 404.' }),
    ),
    forwarding: Defaulted(ForwardingSchema),
    timeouts: Defaulted(TimeoutsSchema),
    limits: Defaulted(LimitsSchema),
    requestParsing: Defaulted(RequestParsingSchema),
    upstreamPool: Defaulted(UpstreamPoolSchema),
    shutdown: Defaulted(ShutdownSchema),
    admin: Type.Optional(AdminSchema),
    rateLimitStore: Type.Optional(RateLimitStoreSchema),
    errorPages: Type.Optional(ErrorPagesSchema),
    tracing: Type.Optional(TracingSchema),
    acme: Type.Optional(AcmeSchema),
    workers: Defaulted(
      Type.Union([Type.Integer({ minimum: 1, maximum: 1_024 }), Type.Literal('auto')], {
        default: DEFAULT_WORKERS,
        description:
          'Data-plane worker processes, all on every listener (SO_REUSEPORT), for `portico run`; `auto`: one per core. Read at start; `--workers` overrides it.',
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'Portico configuration',
    description: 'The configuration of a Portico edge proxy (portico.yaml).',
  },
);

/** PorticoConfig is a validated config document with every default filled in. */
export type PorticoConfig = Static<typeof PorticoConfigSchema>;

/** DeepPartial makes every field optional, recursively: the shape of a document as written. */
type DeepPartial<T> = T extends readonly (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** PorticoConfigInput is a config document as written, before validation and defaults. */
export type PorticoConfigInput = DeepPartial<PorticoConfig>;
export type AcmeConfig = NonNullable<PorticoConfig['acme']>;
export type TracingConfig = NonNullable<PorticoConfig['tracing']>;
export type ListenerConfig = PorticoConfig['listeners'][number];
export type ListenerTlsConfig = NonNullable<ListenerConfig['tls']>;
export type ClientCertificateConfig = NonNullable<ListenerTlsConfig['clientCertificate']>;
export type CertificateConfig = PorticoConfig['certificates'][number];
export type UpstreamTlsConfig = NonNullable<ServiceConfig['tls']>;
export type HstsConfig = NonNullable<RouteConfig['hsts']>;
export type RouteConfig = PorticoConfig['routes'][number];
export type RoutePathConfig = RouteConfig['paths'][number];
export type ServiceConfig = PorticoConfig['services'][number];
export type EndpointConfig = ServiceConfig['endpoints'][number];
export type TimeoutsConfig = PorticoConfig['timeouts'];
export type LimitsConfig = PorticoConfig['limits'];
export type RequestParsingConfig = PorticoConfig['requestParsing'];
export type UpstreamPoolConfig = PorticoConfig['upstreamPool'];
export type ForwardingConfig = PorticoConfig['forwarding'];
export type AdminConfig = NonNullable<PorticoConfig['admin']>;
export type AffinityConfig = NonNullable<ServiceConfig['affinity']>;
export type HashKeyConfig = NonNullable<ServiceConfig['hashKey']>;
export type HealthCheckConfig = NonNullable<ServiceConfig['healthCheck']>;
export type OutlierDetectionConfig = ServiceConfig['outlierDetection'];
export type RetriesConfig = ServiceConfig['retries'];
export type HeaderRulesConfig = NonNullable<RouteConfig['requestHeaders']>;
export type UrlRewriteConfig = NonNullable<RouteConfig['rewrite']>;
export type PathFilterConfig = NonNullable<RoutePathConfig['filters']>[number];
export type AccessListConfig = NonNullable<RouteConfig['access']>;
export type RateLimitConfig = NonNullable<RouteConfig['rateLimit']>;
export type CorsConfig = NonNullable<RouteConfig['cors']>;
export type BasicAuthConfig = NonNullable<RouteConfig['basicAuth']>;
export type InFlightConfig = NonNullable<RouteConfig['inFlight']>;
export type CompressionConfig = NonNullable<RouteConfig['compression']>;
export type ForwardAuthConfig = NonNullable<RouteConfig['forwardAuth']>;
export type ErrorPageConfig = NonNullable<RouteConfig['errorPages']>[number];
export type RateLimitStoreConfig = NonNullable<PorticoConfig['rateLimitStore']>;
export type RedirectConfig = NonNullable<RouteConfig['redirect']>;
