/**
 * The value lists the config schema names, in a module of their own so that code which needs only them
 * (the proxy, the Kubernetes annotations) does not load TypeBox and build the schema at start.
 */

/** PATH_TYPES are the Kubernetes Ingress v1 path types. */
export const PATH_TYPES = ['Exact', 'Prefix', 'ImplementationSpecific'] as const;

/** BALANCERS are the load-balancing policies a service may name. */
export const BALANCERS = ['round-robin', 'random', 'least-request', 'ewma', 'ring-hash', 'maglev'] as const;

/** HASH_SOURCES are where a hash policy or header affinity takes its key from. */
export const HASH_SOURCES = ['source-ip', 'header', 'cookie', 'path', 'query'] as const;

/** ESCAPED_SLASH_ACTIONS are what `%2F` and `%5C` in a request path do. */
export const ESCAPED_SLASH_ACTIONS = ['keep', 'decode', 'reject'] as const;

/** TLS_VERSIONS are the protocol versions a listener may set as its minimum. */
export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

/** PATH_FILTERS are the filters a route path may list, each named by its one field. */
export const PATH_FILTERS = [
  'requestHeaders',
  'responseHeaders',
  'redirect',
  'rewrite',
  'mirror',
  'timeouts',
  'retries',
] as const;
