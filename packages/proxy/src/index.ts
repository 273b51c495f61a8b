export type { Affinity } from './balancer/affinity.ts';
export { BoundedLoads } from './balancer/bounded-loads.ts';
export { leastRequest, peakEwma } from './balancer/least-request.ts';
export { Maglev } from './balancer/maglev.ts';
export { RandomSelector } from './balancer/random-selector.ts';
export type { RequestKeys } from './balancer/request-keys.ts';
export { RingHash } from './balancer/ring-hash.ts';
export { RoundRobin } from './balancer/round-robin.ts';
export type { Available, Member, Selector } from './balancer/selector.ts';
export { ServiceBalancer } from './balancer/service-balancer.ts';
export { ServiceRegistry, ServiceState } from './balancer/service-state.ts';
export {
  type AvailabilityReason,
  CONFIG_APPLIED_CHANNEL,
  CONFIG_REFUSED_CHANNEL,
  ENDPOINT_CHANNEL,
  type EndpointAvailability,
  type ExchangePhase,
  OCSP_CHANNEL,
  type OcspEvent,
  RATE_LIMIT_STORE_CHANNEL,
  type RateLimitStoreEvent,
  REQUEST_CHANNEL,
  REQUEST_START_CHANNEL,
  type RequestOutcome,
  type RequestStart,
  TLS_ERROR_CHANNEL,
  type TlsClientError,
} from './diagnostics.ts';
export { createHandler, type PorticoHandler } from './embed/create-handler.ts';
export { preferredEncoding } from './http/accept-encoding.ts';
export { headerListRequestHead } from './http/header-list-request-head.ts';
export { normalizePath, type PathPolicy, removeDotSegments } from './http/normalize-path.ts';
export type { Http2Counters } from './http2/http2-front.ts';
export { type ClientHelloInfo, type ClientHelloParse, parseClientHello } from './l4/client-hello.ts';
export type { L4Counters } from './l4/l4-counters.ts';
export {
  encodeProxyHeader,
  type ProxyHeader,
  type ProxyParse,
  parseProxyHeader,
} from './l4/proxy-protocol.ts';
export { ACME_CHALLENGE_PREFIX, ACME_TLS_ALPN, AcmeChallenges } from './pipeline/acme-challenges.ts';
export type { Filter, FilterChain, FilterExchange, FilterRequest } from './pipeline/filter.ts';
export { AccessListFilter } from './pipeline/filters/access-list-filter.ts';
export { InFlightFilter } from './pipeline/filters/in-flight-filter.ts';
export { RateLimitFilter } from './pipeline/filters/rate-limit-filter.ts';
export { HeadEditor } from './pipeline/head-editor.ts';
export type { LocalReply } from './pipeline/local-reply.ts';
export { nextRequestId } from './pipeline/request-id.ts';
export { parseTraceparent, type TraceContext } from './pipeline/trace-context.ts';
export {
  type BoundListener,
  type CloseOptions,
  createProxy,
  PorticoProxy,
  type ProxyOptions,
} from './portico-proxy.ts';
export type { ProxyCounters } from './proxy-counters.ts';
export {
  type ErrorSource,
  PorticoProxyError,
  PROXY_ERROR_CODES,
  type ProxyErrorCode,
} from './proxy-error.ts';
export { GlobalRateLimits, type StoreState } from './rate-limit/global-rate-limits.ts';
export { RelayBuffer } from './relay-buffer.ts';
export { pathFilterNames } from './route-policy.ts';
export type { RouteTarget, Snapshot } from './snapshot.ts';
export type { CertificateInfo } from './tls/certificate-info.ts';
export type { ListenerTls, ServedCertificate, TlsCompilation } from './tls/certificate-store.ts';
export { type OcspResponse, type OcspStatus, ocspRequest, parseOcspResponse } from './tls/ocsp.ts';
export {
  DEFAULT_CERTIFICATE_NAME,
  generateSelfSigned,
  type PemPair,
  type SelfSignedOptions,
} from './tls/self-signed.ts';
export { TLS_ISSUE_CODES, type TlsIssue, type TlsIssueCode } from './tls/tls-issue.ts';
export { LATENCY_BUCKETS_MS, LatencyHistogram, StatsRegistry, TrafficStats } from './traffic-stats.ts';
export { AvailabilityClock } from './upstream/availability-clock.ts';
export { EndpointRegistry } from './upstream/endpoint-registry.ts';
export { EndpointState } from './upstream/endpoint-state.ts';
