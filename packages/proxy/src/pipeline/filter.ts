import type { TimeoutsConfig } from '@portico/config';
import type { Rule } from '@portico/router';
import type { RouteTarget } from '../snapshot.ts';
import type { HeadEditor } from './head-editor.ts';
import type { LocalReply } from './local-reply.ts';
import type { ContentCoding } from './response-encoder.ts';

/**
 * FilterRequest is what filters may read of a request: its head in protocol-neutral form, whatever codec
 * (HTTP/1.1, HTTP/2, `node:http`) produced it.
 */
export interface FilterRequest {
  readonly method: string;
  /** host is the authority the request was routed on (Host or `:authority`), as the client sent it. */
  readonly host: string;
  /** path is the routed path, normalised, without its query. */
  readonly path: string;
  /** target is the path and query sent upstream unless a filter rewrites it. */
  readonly target: string;
}

/**
 * FilterExchange is one exchange as the filters of its route see it. A filter may change what the route
 * left open for it: the timeouts and the body limit apply from the request phase on.
 */
export interface FilterExchange {
  readonly request: FilterRequest;
  /** scheme is `https` when Portico terminated TLS for the client. */
  readonly scheme: 'http' | 'https';
  /** clientAddress is the client's address as Portico trusts it (PROXY protocol, trusted X-Forwarded-For). */
  clientAddress(): string;
  /** header returns the request's `name` fields (lower case) joined, or undefined. */
  header(name: string): string | undefined;
  /**
   * rule is the route rule the request matched (for rewrites that refer to the matched part); undefined
   * while a listener's filters run, before the route is matched.
   */
  readonly rule: Rule<RouteTarget> | undefined;
  /** timeouts apply to this exchange; the snapshot's, unless a filter set the route's own. */
  timeouts: TimeoutsConfig;
  /** maxBodyBytes is the largest request body this exchange accepts, 0 for no limit. */
  maxBodyBytes: number;
  /** mirrors name the services copies of the request go to as well (fire and forget), if any. */
  mirrors: string[] | undefined;
  /** retryAttempts replaces the service's `retries.attempts` for this exchange, when set. */
  retryAttempts: number | undefined;
  /**
   * responseHeader returns the response's own `name` fields (lower case) joined, as the upstream sent
   * them; for response filters (undefined before the response).
   */
  responseHeader(name: string): string | undefined;
  /** responseCoding, when a response filter sets it, compresses the response body with it. */
  responseCoding: ContentCoding | undefined;
  /** requestFields lists the request's fields as flat lower-case name, value pairs (for an auth request). */
  requestFields(): string[];
  /** authorizedLines are the field lines an `authorize` hook's answer adds upstream (rendered, checked). */
  authorizedLines: string;
  /** endpointOf picks an available endpoint of the service `name` (its balancer's choice), if any. */
  endpointOf(name: string): { readonly address: string; readonly port: number } | undefined;
}

/**
 * AuthorizationSink takes an `authorize` hook's answer for the exchange `ticket` names: a request that
 * went on meanwhile (the client left, a timeout) has another ticket, and its answer is dropped.
 */
export interface AuthorizationSink {
  /** authorized lets the request through, adding `lines` (rendered field lines, checked) upstream. */
  authorized(ticket: number, lines: string): void;
  /** refused answers the request with `reply` instead. */
  refused(ticket: number, reply: LocalReply): void;
}

/**
 * Filter is one policy of a route, run by the pipeline in pingora's phase order. Every hook is optional;
 * a route's filters are compiled into one array per phase, so a request pays only for the hooks its
 * route has. Hooks run synchronously on the exchange's path and must not keep references to it.
 */
export interface Filter {
  /** name identifies the filter in `explain` and in errors. */
  readonly name: string;
  /**
   * request runs once the route is known, before an endpoint is chosen. Returning a reply answers the
   * request locally (a redirect, a refusal) and ends the exchange; undefined lets it continue.
   */
  request?(exchange: FilterExchange): LocalReply | undefined;
  /**
   * authorize runs once the request filters let the request through, before anything goes upstream, and
   * asks something outside (a forward-auth service); it answers through `sink` with `ticket`, at once or
   * later, and the request body waits meanwhile. A route has at most one such filter.
   */
  authorize?(exchange: FilterExchange, sink: AuthorizationSink, ticket: number): void;
  /** upstreamRequest edits the head sent upstream: target, Host and fields. */
  upstreamRequest?(exchange: FilterExchange, head: HeadEditor): void;
  /** response edits the response head sent to the client (`status` is the upstream's). */
  response?(exchange: FilterExchange, head: HeadEditor, status: number): void;
  /**
   * done runs when an exchange this filter's `request` let through ends, whatever the outcome (a later
   * filter's refusal included): for filters that count what is in flight.
   */
  done?(exchange: FilterExchange): void;
}

/** FilterChain is a route's filters split by phase, in the order they were configured. */
export interface FilterChain {
  readonly all: readonly Filter[];
  readonly request: readonly Filter[];
  readonly upstreamRequest: readonly Filter[];
  readonly response: readonly Filter[];
  /** authorize is the filter with an `authorize` hook, if any (the last one configured). */
  readonly authorize: Filter | undefined;
  /** hasDone says whether any filter has a `done` hook. */
  readonly hasDone: boolean;
}

/** chainOf splits `filters` by the phases they hook. */
export function chainOf(filters: readonly Filter[]): FilterChain {
  return {
    all: filters,
    request: filters.filter((f) => f.request !== undefined),
    upstreamRequest: filters.filter((f) => f.upstreamRequest !== undefined),
    response: filters.filter((f) => f.response !== undefined),
    authorize: filters.findLast((f) => f.authorize !== undefined),
    hasDone: filters.some((f) => f.done !== undefined),
  };
}
