import type { UpstreamConnection } from './upstream-connection.ts';

/**
 * EndpointState is what Portico knows about one endpoint (`address:port`) beyond any one config: its idle
 * pooled connections and counters. It outlives config changes that keep the endpoint, and is retired
 * (idle connections closed, busy ones closed when done) when a change removes it.
 */
export class EndpointState {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** idle holds pooled connections, most recently used last. */
  readonly idle: UpstreamConnection[] = [];
  /** active counts requests in flight to this endpoint. */
  active = 0;
  /** connections counts open upstream connections, idle or busy. */
  connections = 0;
  /** requests counts requests sent to this endpoint. */
  requests = 0;
  /** failures counts connect failures and upstream errors. */
  failures = 0;
  /** retired is set when no config refers to the endpoint any more. */
  retired = false;

  constructor(address: string, port: number) {
    this.address = address;
    this.port = port;
    this.key = endpointKey(address, port);
  }
}

/** endpointKey is the identity of an endpoint: `address:port`, with IPv6 addresses in brackets. */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
