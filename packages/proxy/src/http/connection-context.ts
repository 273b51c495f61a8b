import type { Channel } from 'node:diagnostics_channel';
import type { DeadlineSweeper } from '../deadline-sweeper.ts';
import type { AcmeChallenges } from '../pipeline/acme-challenges.ts';
import type { ProxyCounters } from '../proxy-counters.ts';
import type { Snapshot } from '../snapshot.ts';
import type { H2UpstreamPool } from '../upstream/h2-upstream-pool.ts';
import type { UpstreamPool } from '../upstream/upstream-pool.ts';
import type { HttpConnection } from './http1-connection.ts';

/** ConnectionContext is what a downstream connection needs from the proxy that accepted it. */
export interface ConnectionContext {
  /** snapshot is the current config; each request takes it once at its start. */
  readonly snapshot: Snapshot;
  readonly pool: UpstreamPool;
  /** h2pool multiplexes requests to services that speak HTTP/2 to their endpoints. */
  readonly h2pool: H2UpstreamPool;
  readonly sweeper: DeadlineSweeper;
  readonly counters: ProxyCounters;
  /** draining is true once the proxy is stopping: responses then close their connections. */
  readonly draining: boolean;
  /** requestChannel is `portico:http:request`, published once per request when it has subscribers. */
  readonly requestChannel: Channel;
  /** acmeChallenges are the HTTP-01 answers held while an ACME order is validated. */
  readonly acmeChallenges: AcmeChallenges;
  connectionClosed(connection: HttpConnection): void;
}
