/** L4Counters are one L4 listener's counters, read by the admin API and metrics at scrape time. */
export interface L4Counters {
  /** connections counts connections accepted. */
  connections: number;
  /** active counts connections open now. */
  active: number;
  /** refused counts connections closed at once because the listener was at `maxConnections`. */
  refused: number;
  /** unrouted counts connections no service took (no SNI match and no default). */
  unrouted: number;
  /** handshakes counts TLS handshakes completed (`https` listeners). */
  handshakes: number;
  /** errors counts connections that ended abnormally (no endpoint, reset, timeout). */
  errors: number;
  /** bytesIn and bytesOut count bytes from and to clients of closed connections. */
  bytesIn: number;
  bytesOut: number;
}

/** createL4Counters returns counters at zero. */
export function createL4Counters(): L4Counters {
  return {
    connections: 0,
    active: 0,
    refused: 0,
    unrouted: 0,
    handshakes: 0,
    errors: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
}
