export { RoundRobin } from './balancer/round-robin.ts';
export type { Selector, WeightedEndpoint } from './balancer/selector.ts';
export { CONFIG_APPLIED_CHANNEL, REQUEST_CHANNEL, type RequestOutcome } from './diagnostics.ts';
export { createHandler, type PorticoHandler } from './embed/create-handler.ts';
export { type BoundListener, type CloseOptions, createProxy, PorticoProxy } from './portico-proxy.ts';
export type { ProxyCounters } from './proxy-counters.ts';
export {
  type ErrorSource,
  PorticoProxyError,
  PROXY_ERROR_CODES,
  type ProxyErrorCode,
} from './proxy-error.ts';
export type { ServiceRuntime, Snapshot } from './snapshot.ts';
export type { EndpointState } from './upstream/endpoint-state.ts';
