/** ProxyCounters are the data plane's own counters, read by the admin API and metrics at scrape time. */
export interface ProxyCounters {
  /** connections counts client connections accepted. */
  connections: number;
  /** requests counts request heads parsed and routed or answered. */
  requests: number;
  /** errors counts requests answered with an error Portico generated. */
  errors: number;
  /** responses5xx counts responses with a 5xx status, from upstreams or Portico. */
  responses5xx: number;
  /** denied counts requests refused by an access list (403). */
  denied: number;
  /** rateLimited counts requests refused by a rate limit (429 or 503). */
  rateLimited: number;
  /** unauthorized counts requests refused for want of valid credentials (401). */
  unauthorized: number;
}

/** createCounters returns counters at zero. */
export function createCounters(): ProxyCounters {
  return {
    connections: 0,
    requests: 0,
    errors: 0,
    responses5xx: 0,
    denied: 0,
    rateLimited: 0,
    unauthorized: 0,
  };
}
