/** ErrorSource says who caused a proxy error: the client, an upstream, or Portico itself. */
export type ErrorSource = 'downstream' | 'upstream' | 'internal';

/**
 * PROXY_ERROR_CODES lists every code a `PorticoProxyError` carries, with the HTTP status a client sees
 * (0 when the connection is simply closed) and its meaning. `docs/errors.md` lists the same codes.
 */
export const PROXY_ERROR_CODES = {
  PORTICO_BAD_REQUEST: { status: 400, source: 'downstream', meaning: 'The request head breaks RFC 9112.' },
  PORTICO_BAD_FRAMING: {
    status: 400,
    source: 'downstream',
    meaning: 'Content-Length / Transfer-Encoding are ambiguous or the chunked body is malformed.',
  },
  PORTICO_BAD_HOST: {
    status: 400,
    source: 'downstream',
    meaning: 'Host is missing, repeated, or not a valid authority.',
  },
  PORTICO_METHOD_NOT_ALLOWED: { status: 405, source: 'downstream', meaning: 'CONNECT is not proxied.' },
  PORTICO_VERSION_NOT_SUPPORTED: {
    status: 505,
    source: 'downstream',
    meaning: 'Only HTTP/1.0 and HTTP/1.1 are spoken here.',
  },
  PORTICO_URI_TOO_LONG: {
    status: 414,
    source: 'downstream',
    meaning: 'The request line exceeds limits.maxRequestLineBytes.',
  },
  PORTICO_HEAD_TOO_LARGE: {
    status: 431,
    source: 'downstream',
    meaning: 'The request head exceeds limits.maxHeadBytes or limits.maxHeaderCount.',
  },
  PORTICO_BODY_TOO_LARGE: {
    status: 413,
    source: 'downstream',
    meaning: 'The request body exceeds limits.maxBodyBytes.',
  },
  PORTICO_CLIENT_TIMEOUT: {
    status: 408,
    source: 'downstream',
    meaning: 'The client was too slow sending its head or body.',
  },
  PORTICO_CLIENT_ABORTED: {
    status: 499,
    source: 'downstream',
    meaning:
      'The client closed or reset its connection, or half-closed it mid-body, before the exchange ended.',
  },
  PORTICO_MISDIRECTED: {
    status: 421,
    source: 'downstream',
    meaning: "The Host is not served by the certificate chosen for the connection's SNI.",
  },
  PORTICO_NO_ROUTE: {
    status: 404,
    source: 'internal',
    meaning: 'No route matches the host and path, and there is no default service.',
  },
  PORTICO_NO_ENDPOINT: {
    status: 503,
    source: 'internal',
    meaning: 'The service has no endpoint to send to.',
  },
  PORTICO_BACKEND_UNRESOLVED: {
    status: 500,
    source: 'internal',
    meaning:
      'The weighted backend chosen could not be resolved (a Gateway API backendRef to a missing Service or one not permitted), as the Gateway API asks: 500.',
  },
  PORTICO_UPSTREAM_CONNECT: {
    status: 502,
    source: 'upstream',
    meaning: 'No endpoint of the service accepted a connection.',
  },
  PORTICO_UPSTREAM_RESET: {
    status: 502,
    source: 'upstream',
    meaning: 'The upstream closed the connection before a complete response.',
  },
  PORTICO_UPSTREAM_BAD_RESPONSE: {
    status: 502,
    source: 'upstream',
    meaning: 'The upstream response head or framing is invalid or ambiguous.',
  },
  PORTICO_UPSTREAM_TIMEOUT: {
    status: 504,
    source: 'upstream',
    meaning: 'The upstream did not answer within timeouts.upstreamResponseHeadMs.',
  },
  PORTICO_UNSAFE_FIELD: {
    status: 500,
    source: 'internal',
    meaning:
      'A filter tried to write a header field that is not wire-safe (a name that is not a token, a control or non-ASCII character in a value, a framing field).',
  },
  PORTICO_COMPRESSION_FAILED: {
    status: 0,
    source: 'internal',
    meaning: 'Compressing a response body failed midway (zlib reported an error): the response is cut short.',
  },
  PORTICO_APPLY_FAILED: {
    status: 0,
    source: 'internal',
    meaning:
      'A new config could not be prepared (a listener could not bind, a file it names could not be read): nothing of it was applied.',
  },
} as const satisfies Record<string, { status: number; source: ErrorSource; meaning: string }>;

export type ProxyErrorCode = keyof typeof PROXY_ERROR_CODES;

/**
 * PorticoProxyError is the base error of `@portico/proxy`: a stable `code`, who caused it (`source`),
 * whether another attempt could succeed (`retryable`), and the status a client is answered with.
 */
export class PorticoProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly source: ErrorSource;
  readonly retryable: boolean;
  readonly status: number;

  constructor(code: ProxyErrorCode, message: string, retryable = false) {
    super(message);
    this.name = 'PorticoProxyError';
    this.code = code;
    this.source = PROXY_ERROR_CODES[code].source;
    this.status = PROXY_ERROR_CODES[code].status;
    this.retryable = retryable;
  }
}
