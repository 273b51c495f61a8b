/**
 * Every default of the Portico config model, in one place. The schema refers to these, `docs/config.md`
 * lists them, and a test keeps the two in step.
 */

/** DEFAULT_LISTEN_ADDRESS is where a listener binds when `address` is omitted: every IPv4 interface. */
export const DEFAULT_LISTEN_ADDRESS = '0.0.0.0';

/** DEFAULT_PATH_TYPE is the Ingress path type used when a path omits `type`. */
export const DEFAULT_PATH_TYPE = 'Prefix';

/** DEFAULT_ENDPOINT_WEIGHT is the relative share of traffic an endpoint gets when `weight` is omitted. */
export const DEFAULT_ENDPOINT_WEIGHT = 1;

/** DEFAULT_BALANCER is the load-balancing policy of a service that names none. */
export const DEFAULT_BALANCER = 'round-robin';

/** DEFAULT_TIMEOUTS are the proxy's timeouts in milliseconds. */
export const DEFAULT_TIMEOUTS = {
  /** clientHeadMs bounds the time from a request's first byte to its complete head (slowloris): 10 s. */
  clientHeadMs: 10_000,
  /** clientIdleMs closes a downstream keep-alive connection with no request in flight after 60 s. */
  clientIdleMs: 60_000,
  /** clientBodyIdleMs aborts a request whose body stalls for 60 s between two reads. */
  clientBodyIdleMs: 60_000,
  /** clientBodyMs bounds a whole request body, from its head: 5 min (Envoy's edge `request_timeout`). */
  clientBodyMs: 300_000,
  /**
   * clientBodyRateGraceMs is how long a body may take before `limits.minClientBodyBytesPerSecond` applies:
   * 20 s, as Apache's mod_reqtimeout (`body=20,MinRate=500`).
   */
  clientBodyRateGraceMs: 20_000,
  /** upstreamConnectMs bounds a TCP connect to an endpoint: 5 s. */
  upstreamConnectMs: 5_000,
  /** upstreamResponseHeadMs bounds the wait for the upstream's response head once the request is sent: 60 s. */
  upstreamResponseHeadMs: 60_000,
  /** upstreamIdleMs closes a pooled upstream connection unused for 30 s, and a response stalled as long. */
  upstreamIdleMs: 30_000,
  /** requestMs bounds a whole routed exchange, response included; 0: no limit (the default, as nginx). */
  requestMs: 0,
} as const;

/** DEFAULT_LIMITS are the limits on what a client controls. */
export const DEFAULT_LIMITS = {
  /** maxRequestLineBytes is the longest request line accepted (414 beyond it): 8 KiB, as nginx. */
  maxRequestLineBytes: 8_192,
  /** maxHeadBytes is the largest request head accepted (431 beyond it): 32 KiB. */
  maxHeadBytes: 32_768,
  /** maxHeaderCount is the most header fields accepted in one head (431 beyond it): 100, as Node. */
  maxHeaderCount: 100,
  /** maxBodyBytes is the largest request body accepted (413 beyond it), 0 meaning no limit: 0. */
  maxBodyBytes: 0,
  /**
   * minClientBodyBytesPerSecond is the slowest average a request body may arrive at once the grace period
   * is over (408 below it), 0 meaning no minimum: 500, as Apache's mod_reqtimeout.
   */
  minClientBodyBytesPerSecond: 500,
  /** maxResponseHeadBytes is the largest response head accepted from an upstream (502 beyond it): 64 KiB. */
  maxResponseHeadBytes: 65_536,
  /** http2MaxConcurrentStreams is SETTINGS_MAX_CONCURRENT_STREAMS; streams beyond it are refused: 100. */
  http2MaxConcurrentStreams: 100,
  /** http2MaxHeaderListBytes is SETTINGS_MAX_HEADER_LIST_SIZE (decoded size): 32 KiB, as maxHeadBytes. */
  http2MaxHeaderListBytes: 32_768,
  /** http2MaxResetsPerSecond closes a session whose client cancels more streams than this in a second: 200. */
  http2MaxResetsPerSecond: 200,
} as const;

/**
 * DEFAULT_REQUEST_PARSING says how request heads are normalised before routing, with Envoy's edge
 * recommendations (`normalize_path`, `headers_with_underscores_action`) and nginx's
 * (`underscores_in_headers off`) as the model.
 */
export const DEFAULT_REQUEST_PARSING = {
  /** headersWithUnderscores: fields whose names hold `_` are dropped, as nginx and Envoy's edge guide do. */
  headersWithUnderscores: 'drop',
  /** normalizePath: dot segments are removed and percent-encoded unreserved characters decoded: on. */
  normalizePath: true,
  /** mergeSlashes: runs of `/` in a path become one: off (paths are passed as sent). */
  mergeSlashes: false,
  /** escapedSlashes: `%2F` and `%5C` in a path are kept as they are. */
  escapedSlashes: 'keep',
} as const;

/** DEFAULT_UPSTREAM_POOL bounds the idle keep-alive connections kept per endpoint. */
export const DEFAULT_UPSTREAM_POOL = {
  /** maxIdlePerEndpoint is how many idle connections one endpoint keeps: 64. */
  maxIdlePerEndpoint: 64,
  /** maxRequestsPerConnection retires an upstream connection after this many requests, 0 meaning never: 0. */
  maxRequestsPerConnection: 0,
} as const;

/** DEFAULT_SHUTDOWN governs SIGTERM/SIGINT. */
export const DEFAULT_SHUTDOWN = {
  /** drainTimeoutMs is how long in-flight requests may run after a stop signal before they are cut: 30 s. */
  drainTimeoutMs: 30_000,
} as const;

/** DEFAULT_HASH_LOAD_FACTOR bounds hash policies' loads: no endpoint takes over 1.25x the average (Google's bounded loads). */
export const DEFAULT_HASH_LOAD_FACTOR = 1.25;

/** DEFAULT_PANIC_THRESHOLD_PERCENT: below 50% healthy endpoints, balance over all of them, as Envoy does. */
export const DEFAULT_PANIC_THRESHOLD_PERCENT = 50;

/** DEFAULT_MAGLEV_TABLE_SIZE is Maglev's lookup table size: a prime, 65537, as Envoy. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65_537;

/** DEFAULT_AFFINITY governs session affinity when a service asks for it. */
export const DEFAULT_AFFINITY = {
  /** cookieName is the affinity cookie's name: `portico-affinity`. */
  cookieName: 'portico-affinity',
  /** ttlSeconds is how long a pin lasts after its last use: 10800 s, Kubernetes' ClientIP default. */
  ttlSeconds: 10_800,
  /** maxEntries bounds a client-IP or header affinity table: 100,000 pins. */
  maxEntries: 100_000,
} as const;

/** DEFAULT_HEALTH_CHECK are active health check settings. */
export const DEFAULT_HEALTH_CHECK = {
  /** intervalMs between two probes of one endpoint: 5 s. */
  intervalMs: 5_000,
  /** timeoutMs for one probe: 2 s. */
  timeoutMs: 2_000,
  /** jitterMs added at random to each interval, so probes do not align: up to 500 ms. */
  jitterMs: 500,
  /** healthyThreshold consecutive successes mark an endpoint healthy: 2. */
  healthyThreshold: 2,
  /** unhealthyThreshold consecutive failures mark it unhealthy: 3. */
  unhealthyThreshold: 3,
  /** path probed by HTTP checks: `/`. */
  path: '/',
} as const;

/** DEFAULT_OUTLIER_DETECTION is passive health checking, on by default. */
export const DEFAULT_OUTLIER_DETECTION = {
  /** consecutiveFailures (5xx or connect failures) that eject an endpoint: 5; 0 turns ejection off. */
  consecutiveFailures: 5,
  /** baseEjectionMs is the first ejection's length; each repeat ejection lasts one more base: 30 s. */
  baseEjectionMs: 30_000,
  /** maxEjectionMs caps an ejection: 300 s. */
  maxEjectionMs: 300_000,
  /** maxEjectionPercent of a service's endpoints may be ejected at once: 50%. */
  maxEjectionPercent: 50,
} as const;

/** DEFAULT_RETRIES governs retries of requests that failed before any response byte reached the client. */
export const DEFAULT_RETRIES = {
  /** attempts is how many times an idempotent request may be retried on another endpoint: 0 (off). */
  attempts: 0,
  /** budgetPercent: retries in flight may be at most 20% of the service's active requests... */
  budgetPercent: 20,
  /** minConcurrency: ...but at least 3 retries may always be in flight. */
  minConcurrency: 3,
} as const;

/** DEFAULT_L4_IDLE_MS closes a TCP or passthrough connection with no byte either way for an hour. */
export const DEFAULT_L4_IDLE_MS = 3_600_000;

/**
 * DEFAULT_PER_SOURCE bounds the work one client address can cause on a listener each second, across all
 * its connections (a client that reconnects does not get a fresh budget).
 */
export const DEFAULT_PER_SOURCE = {
  /**
   * newConnectionsPerSecond is how many connections one address may open per second (burst: one
   * second's worth): 0, no limit, since many clients can share one address behind a NAT.
   */
  newConnectionsPerSecond: 0,
  /**
   * resetStreamsPerSecond is how many HTTP/2 streams one address may cancel per second over all its
   * connections: 200. Beyond it the session gets GOAWAY ENHANCE_YOUR_CALM and the address's new
   * connections are refused for a second (CVE-2023-44487 with reconnects).
   */
  resetStreamsPerSecond: 200,
} as const;

/**
 * DEFAULT_MAX_CONCURRENT_HANDSHAKES is how many TLS handshakes an `https` listener runs at once: 0, no cap.
 * A cap makes connections beyond it wait, unread; measured on a 2-core machine it did not protect
 * established connections from a handshake flood (their p99 rose, see docs/benchmarks.md), since a
 * handshake's CPU is spent at once when its ClientHello arrives; so it is opt-in.
 */
export const DEFAULT_MAX_CONCURRENT_HANDSHAKES = 0;

/** DEFAULT_CLIENT_HELLO_MS bounds the wait for a whole ClientHello on a passthrough listener: 5 s. */
export const DEFAULT_CLIENT_HELLO_MS = 5_000;

/** DEFAULT_ADMIN is where the admin API listens when the config has an `admin` section. */
export const DEFAULT_ADMIN = {
  /** address is loopback: the admin API is never reachable from elsewhere unless asked. */
  address: '127.0.0.1',
  /** port 9901, next to Envoy's 9901 habit. */
  port: 9_901,
} as const;

/**
 * MOZILLA_INTERMEDIATE_CIPHERS is the TLS 1.2 cipher list of Mozilla's "intermediate" profile (version 5.7),
 * in its order: ECDHE with AES-GCM or ChaCha20-Poly1305 only, no CBC, no static RSA, and the two DHE suites
 * left out because Portico configures no DH parameters. TLS 1.3 suites are not set by this list (OpenSSL's
 * three defaults are all in the profile).
 */
export const MOZILLA_INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** DEFAULT_TLS governs HTTPS listeners. */
export const DEFAULT_TLS = {
  /** minVersion is the oldest protocol accepted: TLS 1.2 (Mozilla intermediate). */
  minVersion: 'TLSv1.2',
  /** ciphers is the TLS 1.2 cipher list: Mozilla intermediate. */
  ciphers: MOZILLA_INTERMEDIATE_CIPHERS,
  /** http2 offers `h2` by ALPN: on. */
  http2: true,
  /** sessionTickets enables TLS session resumption by tickets: on. */
  sessionTickets: true,
  /** ocspStapling staples OCSP responses from the responders the certificates name: on. */
  ocspStapling: true,
  /** handshakeTimeoutMs bounds a TLS handshake from the first byte: 10 s. */
  handshakeTimeoutMs: 10_000,
  /** expiryWarningDays is how close to its end a certificate is reported as expiring: 14 days. */
  expiryWarningDays: 14,
} as const;

/** DEFAULT_HSTS is the Strict-Transport-Security a route asks for with `hsts: {}`. */
export const DEFAULT_HSTS = {
  /** maxAgeSeconds is how long browsers remember to use HTTPS only: two years (63,072,000 s), as Mozilla's guidelines. */
  maxAgeSeconds: 63_072_000,
  /** includeSubDomains extends the rule to every subdomain: off. */
  includeSubDomains: false,
  /** preload asks to be included in browsers' preload lists: off. */
  preload: false,
} as const;

/**
 * DEFAULT_WORKERS is how many data-plane processes `portico run` starts: one, the process itself. More
 * (`workers: 2`, or `auto` for one per core) are worth it on a node with cores to spare; on a 2-core
 * machine the origin, the kernel and the load share them (docs/architecture.md has the figures).
 */
export const DEFAULT_WORKERS = 1;

/**
 * DEFAULT_TRACE_SAMPLE_RATIO is the share of requests without a sampled `traceparent` that start a sampled
 * trace when `tracing` is configured: 10%, enough to see every route without exporting every request.
 */
export const DEFAULT_TRACE_SAMPLE_RATIO = 0.1;
