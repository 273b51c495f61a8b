import type { CountersView, ListenerView, ServiceView, TrafficView } from '@portico/admin';
import type { PorticoConfig } from '@portico/config';
import type { OcspEvent } from '@portico/proxy';
import type { ConfigDelta } from './config-delta.ts';

/** EndpointVerdict is an availability change the primary saw, for workers to apply to their endpoint. */
export interface EndpointVerdict {
  readonly service: string;
  /** endpoint is `address:port`. */
  readonly endpoint: string;
  readonly healthy?: boolean;
  readonly disabled?: boolean;
  /** ejectedForMs is another worker's passive ejection, for this long. */
  readonly ejectedForMs?: number;
  readonly detail?: string;
}

/** DataPlaneViews are a worker's counters, traffic, services and listeners, as the admin API shows them. */
export interface DataPlaneViews {
  readonly counters: CountersView;
  readonly traffic: TrafficView;
  readonly services: ServiceView[];
  readonly listeners: ListenerView[];
}

/** AcmeAnswers are every ACME challenge answer in force, for each worker to give (the whole set each time). */
export interface AcmeAnswers {
  /** http are HTTP-01 tokens and their key authorizations. */
  readonly http: readonly (readonly [token: string, keyAuthorization: string])[];
  /** alpn are TLS-ALPN-01 challenge certificates and keys (PEM) by host. */
  readonly alpn: readonly (readonly [host: string, cert: string, key: string])[];
}

/** ToWorker is what the primary sends a data-plane worker over its IPC channel. */
export type ToWorker =
  | { readonly type: 'config'; readonly version: number; readonly config: PorticoConfig }
  /** delta is the next config as the change from the one the worker was sent last (`delta.from`). */
  | { readonly type: 'delta'; readonly version: number; readonly delta: ConfigDelta }
  | { readonly type: 'verdicts'; readonly verdicts: readonly EndpointVerdict[] }
  | { readonly type: 'acme'; readonly answers: AcmeAnswers }
  /** ticket-keys are the TLS session ticket keys (48 bytes, base64) all workers share. */
  | { readonly type: 'ticket-keys'; readonly keys: string }
  | { readonly type: 'views'; readonly id: number }
  | { readonly type: 'drain'; readonly drainTimeoutMs: number }
  | { readonly type: 'reopen-logs' };

/** FromWorker is what a data-plane worker tells the primary. */
export type FromWorker =
  | { readonly type: 'applied'; readonly version: number }
  | { readonly type: 'refused'; readonly version: number; readonly code: string; readonly message: string }
  | { readonly type: 'views'; readonly id: number; readonly views: DataPlaneViews }
  /** resync asks for the whole config: a delta came that was not made from the config this worker has. */
  | { readonly type: 'resync' }
  | {
      readonly type: 'ejected';
      readonly service: string;
      readonly endpoint: string;
      readonly ms: number;
      readonly detail: string;
    }
  /** rate-limit-store says the worker's store of global rate limits went down or came back. */
  | { readonly type: 'rate-limit-store'; readonly state: 'up' | 'down'; readonly message: string | undefined }
  /** ocsp is an OCSP fetch the worker made for stapling, for the primary to log. */
  | { readonly type: 'ocsp'; readonly event: OcspEvent }
  | {
      readonly type: 'stats';
      readonly version: number;
      readonly connections: number;
      readonly requests: number;
    };

/** WORKER_COMMAND is the hidden `portico` command a data-plane worker runs. */
export const WORKER_COMMAND = '__data-plane-worker';

/** ACCESS_LOG_ENV carries a worker's access log settings (`AccessLogOptions`, as JSON); internal, so lower case. */
export const ACCESS_LOG_ENV = 'portico_worker_access_log';
