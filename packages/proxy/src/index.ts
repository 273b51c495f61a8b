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
export { CONFIG_APPLIED_CHANNEL, REQUEST_CHANNEL, type RequestOutcome } from './diagnostics.ts';
export { createHandler, type PorticoHandler } from './embed/create-handler.ts';
export { type ClientHelloInfo, type ClientHelloParse, parseClientHello } from './l4/client-hello.ts';
export type { L4Counters } from './l4/l4-counters.ts';
export {
  encodeProxyHeader,
  type ProxyHeader,
  type ProxyParse,
  parseProxyHeader,
} from './l4/proxy-protocol.ts';
export { type BoundListener, type CloseOptions, createProxy, PorticoProxy } from './portico-proxy.ts';
export type { ProxyCounters } from './proxy-counters.ts';
export {
  type ErrorSource,
  PorticoProxyError,
  PROXY_ERROR_CODES,
  type ProxyErrorCode,
} from './proxy-error.ts';
export type { RouteTarget, Snapshot } from './snapshot.ts';
export { LATENCY_BUCKETS_MS, LatencyHistogram, StatsRegistry, TrafficStats } from './traffic-stats.ts';
export { EndpointRegistry } from './upstream/endpoint-registry.ts';
export { EndpointState, HEALTH_EPOCH } from './upstream/endpoint-state.ts';
