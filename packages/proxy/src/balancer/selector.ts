import type { EndpointState } from '../upstream/endpoint-state.ts';

/** Member is an endpoint of a service with its configured weight. */
export interface Member {
  readonly endpoint: EndpointState;
  readonly weight: number;
}

/** Available tells whether an endpoint may take a new request now. */
export type Available = (endpoint: EndpointState) => boolean;

/**
 * Selector picks the endpoint for a request. It is built once per endpoint-set change (pingora's
 * `BackendSelection::build`) and asked per request; it must skip endpoints in `exclude` (already tried
 * for this request) and those `available` refuses, and return undefined when none is left.
 */
export interface Selector {
  select(
    key: string | undefined,
    exclude: readonly EndpointState[],
    available: Available,
  ): EndpointState | undefined;
}

/** usable is `available` and not excluded: the one predicate every policy filters with. */
export function usable(
  endpoint: EndpointState,
  exclude: readonly EndpointState[],
  available: Available,
): boolean {
  return available(endpoint) && (exclude.length === 0 || !exclude.includes(endpoint));
}
