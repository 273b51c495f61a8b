import { channel } from 'node:diagnostics_channel';
import type { TraceContext } from './pipeline/trace-context.ts';

/**
 * REQUEST_CHANNEL is published once per request when it ends, with `RequestOutcome`. Subscribe with
 * `diagnostics_channel.subscribe('portico:http:request', fn)`; nothing is built when nobody listens.
 */
export const REQUEST_CHANNEL = 'portico:http:request';
/**
 * REQUEST_START_CHANNEL is published with `RequestStart` when a request head has been parsed, before
 * anything is decided about it; `portico:http:request` follows when the exchange ends, however it ends.
 */
export const REQUEST_START_CHANNEL = 'portico:http:request-start';
/** CONFIG_APPLIED_CHANNEL is published with `{ version }` each time a snapshot goes live. */
export const CONFIG_APPLIED_CHANNEL = 'portico:config:applied';

/**
 * ENDPOINT_CHANNEL is published with `EndpointAvailability` each time an endpoint of a service starts or
 * stops taking requests: a health check verdict, an ejection or its end, maintenance.
 */
export const ENDPOINT_CHANNEL = 'portico:endpoint:availability';

/** CONFIG_REFUSED_CHANNEL is published with `{ code, message }` when `apply` refuses a config. */
export const CONFIG_REFUSED_CHANNEL = 'portico:config:refused';
/**
 * TLS_ERROR_CHANNEL is published with `TlsClientError` when a client's TLS handshake fails (a scanner, an
 * old client, a certificate the client refused, a reset mid-handshake).
 */
export const TLS_ERROR_CHANNEL = 'portico:tls:error';

/**
 * OCSP_CHANNEL is published with `OcspEvent` each time an OCSP response is fetched for stapling, or the
 * fetch failed.
 */
export const OCSP_CHANNEL = 'portico:tls:ocsp';

/** OcspEvent is one fetch: the certificate's subject, the responder, and the status or the error. */
export interface OcspEvent {
  readonly subject: string;
  readonly url: string;
  readonly status?: 'good' | 'revoked' | 'unknown';
  /** nextUpdate is when the responder will have newer information (ms since the epoch). */
  readonly nextUpdate?: number | undefined;
  readonly error?: string;
}

/**
 * RATE_LIMIT_STORE_CHANNEL is published with `RateLimitStoreEvent` when the store of global rate limits
 * (Redis) stops answering or answers again.
 */
export const RATE_LIMIT_STORE_CHANNEL = 'portico:rate-limit:store';

/** RateLimitStoreEvent is the store's new state and, when down, why (never the store's URL). */
export interface RateLimitStoreEvent {
  readonly state: 'up' | 'down';
  readonly message: string | undefined;
}

export const requestChannel = channel(REQUEST_CHANNEL);
export const rateLimitStoreChannel = channel(RATE_LIMIT_STORE_CHANNEL);
export const requestStartChannel = channel(REQUEST_START_CHANNEL);
export const configAppliedChannel = channel(CONFIG_APPLIED_CHANNEL);
export const configRefusedChannel = channel(CONFIG_REFUSED_CHANNEL);
export const endpointChannel = channel(ENDPOINT_CHANNEL);
export const tlsErrorChannel = channel(TLS_ERROR_CHANNEL);
export const ocspChannel = channel(OCSP_CHANNEL);

/** TlsClientError is what `portico:tls:error` carries. */
export interface TlsClientError {
  readonly listener: string;
  /** client is the peer's address. */
  readonly client: string;
  /** code is OpenSSL's or Node's error code (`ERR_SSL_...`, `ECONNRESET`), or the error's message. */
  readonly code: string;
}

/** AvailabilityReason is why an endpoint's availability changed. */
export type AvailabilityReason = 'health-check' | 'ejected' | 'ejection-ended' | 'disabled' | 'enabled';

/** EndpointAvailability is what `portico:endpoint:availability` carries. */
export interface EndpointAvailability {
  readonly service: string;
  /** endpoint is `address:port`. */
  readonly endpoint: string;
  /** available tells whether the change lets the endpoint take requests again. */
  readonly available: boolean;
  readonly reason: AvailabilityReason;
  /** detail says more: the failed check's outcome ("HTTP 503", "timeout"), the ejection's length. */
  readonly detail: string | undefined;
}

/**
 * ExchangePhase is where an exchange ended: `complete` for one that ran its course (whatever its status),
 * otherwise the phase it was cut short in.
 */
export type ExchangePhase =
  | 'request-head'
  | 'authorization'
  | 'request-body'
  | 'upstream-connect'
  | 'response-head'
  | 'response-body'
  | 'tunnel'
  | 'complete';

/** RequestStart is what `portico:http:request-start` carries. */
export interface RequestStart {
  readonly listener: string;
  /** peer is the address of the connection the request came on (before PROXY and forwarding rules). */
  readonly peer: string;
  readonly method: string;
  readonly host: string;
  readonly path: string;
}

/** RequestOutcome is what `portico:http:request` carries. */
export interface RequestOutcome {
  /** client is the client's address after PROXY protocol and trusted X-Forwarded-For rules. */
  readonly client: string;
  /** requestId is the X-Request-Id sent upstream: the client's, or one Portico generated. */
  readonly requestId: string | undefined;
  readonly method: string | undefined;
  readonly host: string | undefined;
  readonly path: string | undefined;
  readonly status: number;
  /** route is the route's name (or `routes[i]`), `default` for the default service. */
  readonly route: string | undefined;
  readonly service: string | undefined;
  readonly endpoint: string | undefined;
  /**
   * errorCode is the `PORTICO_*` code when Portico generated the response or the exchange was cut short
   * (`PORTICO_CLIENT_ABORTED` with status 499 when the client gave up, as nginx logs it).
   */
  readonly errorCode: string | undefined;
  /** phase is where the exchange ended: `complete`, or the phase it was cut short in. */
  readonly phase: ExchangePhase;
  readonly durationMs: number;
  /** connectMs is the upstream TCP connect time (0 on a pooled connection, -1 when none was made). */
  readonly connectMs: number;
  /** ttfbMs is the time from sending the request upstream to its response head (-1 without one). */
  readonly ttfbMs: number;
  /** requestBytes and responseBytes count body bytes (framing excluded). */
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** query is the request target's query, without `?` ('' when none). */
  readonly query: string | undefined;
  /** protocol is the client's HTTP version: `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`. */
  readonly protocol: string;
  readonly userAgent: string | undefined;
  readonly referer: string | undefined;
  /** listener is the name of the listener the request came in on ('' when embedded). */
  readonly listener: string;
  /** trace is the exchange's W3C trace context (Portico's span), when `tracing` is configured. */
  readonly trace: TraceContext | undefined;
  /** tls is the connection's TLS, when Portico terminated it: version, cipher suite and SNI. */
  readonly tls:
    | {
        readonly version: string | undefined;
        readonly cipher: string | undefined;
        readonly sni: string | undefined;
      }
    | undefined;
}
