import type { EndpointState } from '../upstream/endpoint-state.ts';

/**
 * Selector picks the endpoint for a request. It is built once per endpoint-set change and asked per
 * request; `exclude` holds endpoints already tried for this request, which it must skip when it can.
 */
export interface Selector {
  select(exclude: readonly EndpointState[]): EndpointState | undefined;
}

/** WeightedEndpoint is an endpoint with its configured weight. */
export interface WeightedEndpoint {
  readonly endpoint: EndpointState;
  readonly weight: number;
}
