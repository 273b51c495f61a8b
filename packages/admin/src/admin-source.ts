/**
 * AdminSource is the admin API's only view of Portico: plain data in, plain data out. The binary
 * implements it over the running proxy and its config source; the admin package knows nothing of
 * sockets or Kubernetes, and is never on the data path.
 */
export interface AdminSource {
  /** ready tells whether the first config is applied and every listener is bound. */
  ready(): boolean;
  status(): StatusView;
  routes(): RouteView[];
  /** explain says which route serves `url` (`http://host/path`) and why the others do not. */
  explain(url: string): unknown;
  services(): ServiceView[];
  listeners(): ListenerView[];
  /** config returns the config in force with secrets redacted. */
  config(): unknown;
  /** configErrors lists the problems of the last config change that was refused, if any. */
  configErrors(): ProblemView[];
  /** counters returns the data plane's counters, read at scrape time. */
  counters(): CountersView;
  /** traffic returns each route's and service's response counts and latency histograms. */
  traffic(): TrafficView;
  /** discovery describes where config comes from: the convergence histogram, watches and object issues. */
  discovery(): DiscoveryView;
  /** validate checks a proposed config document as a reload would. */
  validate(document: unknown): ProblemView[];
  /** diff compares a proposed config with the one in force. */
  diff(document: unknown): ConfigDiffView | ProblemView[];
  /**
   * replaceConfig writes a new config to the config file and applies it, when `version` (from If-Match)
   * is the version in force; it resolves with the new version, or why not.
   */
  replaceConfig(document: unknown, version: string | undefined): Promise<ReplaceResult>;
  /** setEndpointDisabled takes an endpoint (`address:port`) out of or back into rotation; false if unknown. */
  setEndpointDisabled(endpoint: string, disabled: boolean): boolean;
  /** drain stops accepting and lets in-flight work finish; resolves when done. */
  drain(): Promise<void>;
  /**
   * refresh, when given, gathers what the data plane's views read from elsewhere (the data-plane worker
   * processes of `portico run --workers N`); the admin API awaits it before answering those views.
   */
  refresh?(): Promise<void>;
  /** certificates lists the certificates served, and the TLS hosts none covers (the dashboard's view). */
  certificates?(): CertificatesView;
  /** timeline lists the last endpoint availability changes, newest last, with their reasons. */
  timeline?(): EndpointEventView[];
  /** configHistory lists the last configs applied, newest last, with what each changed. */
  configHistory?(): ConfigHistoryEntry[];
  /** acme describes each ACME host: orders made and failed, the last error, when its certificate ends. */
  acme?(): AcmeHostView[];
}

/** AcmeHostView is one host Portico gets certificates for from an ACME CA. */
export interface AcmeHostView {
  readonly host: string;
  readonly issued: number;
  readonly failed: number;
  readonly lastError: string | undefined;
  readonly notAfter: string | undefined;
  /** renewAt is when the current certificate is due for renewal (the CA's ARI window, or 2/3 of its life). */
  readonly renewAt?: string | undefined;
}

/** CertificateView is one certificate Portico serves. */
export interface CertificateView {
  readonly name: string;
  /** hosts are the names it is chosen for by SNI. */
  readonly hosts: readonly string[];
  readonly subject: string;
  readonly issuer: string;
  readonly notAfter: string;
  readonly daysLeft: number;
  /** stale is true when its newest version was refused and the last good one serves. */
  readonly stale: boolean;
}

export interface CertificatesView {
  readonly certificates: readonly CertificateView[];
  /** uncovered are route hosts served over HTTPS that no certificate names (they get the default one). */
  readonly uncovered: readonly string[];
}

/** EndpointEventView is one endpoint starting or stopping to take requests. */
export interface EndpointEventView {
  readonly at: string;
  readonly service: string;
  readonly endpoint: string;
  readonly available: boolean;
  /** reason is `health-check`, `ejected`, `maintenance`...; detail says more (`HTTP 503`). */
  readonly reason: string;
  readonly detail?: string | undefined;
}

/** ConfigHistoryEntry is one applied config. */
export interface ConfigHistoryEntry {
  readonly version: number;
  readonly at: string;
  readonly source: string;
  /** summary says what changed: `routes changed: shop; services added: cart`. */
  readonly summary: string;
}

export interface StatusView {
  readonly version: number;
  readonly appliedAt: string;
  readonly source: string;
  readonly uptimeSeconds: number;
  /** connections are the open client connections, of every worker when there are workers. */
  readonly connections: number;
  readonly draining: boolean;
  /** workers are the data-plane worker processes (`portico run --workers N`), when there are any. */
  readonly workers?: readonly WorkerStatusView[];
}

/** WorkerStatusView is one data-plane worker process. */
export interface WorkerStatusView {
  readonly index: number;
  readonly pid: number | undefined;
  /** version is the config version the worker serves. */
  readonly version: number;
  readonly connections: number;
  readonly requests: number;
  readonly uptimeSeconds: number;
  readonly restarts: number;
}

export interface RouteView {
  readonly id: string;
  readonly route: string;
  readonly host: string | null;
  readonly path: string;
  readonly type: string;
  /** service is where the path sends requests: a service's name, `web=90, canary=10`, or `redirect ...`. */
  readonly service: string;
  /** match is the rule's request conditions (method, headers, query) in words, or null for none. */
  readonly match: string | null;
  /** filters are the rule's filters (its route's, then its own), by name, in the order they run. */
  readonly filters: readonly string[];
  /** requests counts the requests this rule matched since its route was last compiled (this process). */
  readonly requests?: number;
}

export interface EndpointView {
  readonly endpoint: string;
  readonly weight: number;
  readonly ready: boolean;
  readonly healthy: boolean;
  readonly ejected: boolean;
  readonly disabled: boolean;
  readonly active: number;
  /** connections counts open upstream connections to the endpoint, idle (pooled) or busy. */
  readonly connections: number;
  readonly requests: number;
  readonly failures: number;
  readonly ejections: number;
  readonly ewmaMs: number;
}

export interface ServiceView {
  readonly name: string;
  readonly balancer: string;
  readonly panic: boolean;
  readonly active: number;
  /** retries counts retries made (idempotent requests sent again to another endpoint). */
  readonly retries: number;
  /** retriesActive counts retries in flight, which the retry budget bounds. */
  readonly retriesActive: number;
  readonly affinityEntries: number | null;
  readonly endpoints: EndpointView[];
}

export interface ListenerView {
  readonly name: string;
  readonly protocol: string;
  readonly address: string;
  readonly port: number;
  readonly connections: number;
  readonly active: number;
  readonly refused: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface ProblemView {
  readonly code: string;
  readonly where: string;
  readonly path: string;
  readonly message: string;
}

export interface CountersView {
  readonly requests: number;
  readonly errors: number;
  readonly responses5xx: number;
  /** denied counts requests an access list refused; rateLimited, those a rate limit refused. */
  readonly denied: number;
  readonly rateLimited: number;
  /** unauthorized counts requests refused for want of valid credentials. */
  readonly unauthorized: number;
  /** rateLimitStoreErrors counts syncs with the global rate limits' store (Redis) that failed. */
  readonly rateLimitStoreErrors: number;
  readonly connections: number;
  readonly activeConnections: number;
  readonly upstreamConnectionsCreated: number;
  readonly upstreamRequestsReused: number;
  readonly configApplies: number;
  readonly configErrors: number;
  /** lastApplyMs is how long the last config apply took, in ms. */
  readonly lastApplyMs: number;
}

/** HistogramView is a latency histogram: counts per bucket (not cumulative; the last is +Inf), sum and count, in ms. */
export interface HistogramView {
  readonly bucketsMs: readonly number[];
  readonly counts: readonly number[];
  readonly sumMs: number;
  readonly count: number;
}

/** TrafficEntry is one route's or service's responses by status class (index 0: no status, 1-5) and latencies. */
export interface TrafficEntry {
  readonly name: string;
  readonly responses: readonly number[];
  readonly duration: HistogramView;
  readonly ttfb?: HistogramView;
}

export interface TrafficView {
  readonly routes: TrafficEntry[];
  readonly services: TrafficEntry[];
}

/** WatchView is one watched collection of a config source (Kubernetes: a kind in a namespace). */
export interface WatchView {
  readonly kind: string;
  /** namespace is null for all namespaces or a cluster-scoped kind. */
  readonly namespace: string | null;
  readonly objects: number;
  readonly watches: number;
  readonly relists: number;
  readonly failures: number;
  readonly watchdogRecycles: number;
  readonly lastError: string | null;
}

/** SourceIssueView is a problem found in one object of the config source (an Ingress, say). */
export interface SourceIssueView {
  readonly code: string;
  /** object names it: `Ingress default/web`. */
  readonly object: string;
  readonly field: string;
  readonly message: string;
}

/** DiscoveryView describes the config source. */
export interface DiscoveryView {
  /** source is `file` or `kubernetes`. */
  readonly source: string;
  /** convergence is the time from a change's arrival (a watch event) to live in the data plane. */
  readonly convergence: HistogramView;
  readonly watches: readonly WatchView[];
  readonly issues: readonly SourceIssueView[];
  /** leader says whether this instance holds the leader Lease; null without election. */
  readonly leader: boolean | null;
  /** details are the source's own fuller description. */
  readonly details?: unknown;
}

/** ConfigDiffView says what a proposed config would change. */
export interface ConfigDiffView {
  /** routes are keyed `host path-type path` (host `*` for any); changed ones name their old and new service. */
  readonly routesAdded: string[];
  readonly routesRemoved: string[];
  readonly routesChanged: { route: string; from: string; to: string }[];
  /** routesShadowed are rules of the proposal that can never match. */
  readonly routesShadowed: ProblemView[];
  readonly servicesAdded: string[];
  readonly servicesRemoved: string[];
  /** servicesWithoutEndpoints would answer 503. */
  readonly servicesWithoutEndpoints: string[];
}

/** ReplaceResult is the outcome of `replaceConfig`. */
export type ReplaceResult =
  | { readonly status: 'applied'; readonly version: number }
  | { readonly status: 'conflict'; readonly version: number }
  | { readonly status: 'invalid'; readonly problems: ProblemView[] }
  | { readonly status: 'unsupported'; readonly reason: string };
