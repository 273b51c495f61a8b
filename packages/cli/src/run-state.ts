import type { AcmeHostView, ConfigHistoryEntry, EndpointEventView, WorkerStatusView } from '@portico/admin';
import type { FileProblem, KubernetesDiscovery } from '@portico/discovery';
import type { LatencyHistogram } from '@portico/proxy';

/** RunState is what `portico run` knows beyond the proxy: where the config came from and how it went. */
export interface RunState {
  source: string;
  appliedAt: Date;
  applies: number;
  refused: number;
  lastProblems: readonly FileProblem[];
  ready: boolean;
  /** lastApplyMs is how long the last config apply took, in ms. */
  lastApplyMs: number;
  readonly startedAt: number;
  /** convergence times changes from their arrival (a watch event) to live in the data plane, in ms. */
  readonly convergence: LatencyHistogram;
  /** kubernetes is the Kubernetes source, when there is one. */
  readonly kubernetes: KubernetesDiscovery | undefined;
  /** workers describes the data-plane worker processes, when `portico run` has any. */
  workers?: () => readonly WorkerStatusView[];
  /** timeline holds the last endpoint availability changes (at most TIMELINE_SIZE), oldest first. */
  readonly timeline: EndpointEventView[];
  /** history holds the last configs applied (at most HISTORY_SIZE), oldest first. */
  readonly history: ConfigHistoryEntry[];
  /** acme describes the ACME hosts, when `acme` is configured. */
  acme?: () => AcmeHostView[];
}

/** TIMELINE_SIZE and HISTORY_SIZE bound what the dashboard's timeline and config history keep. */
export const TIMELINE_SIZE = 200;
export const HISTORY_SIZE = 20;

/** remember appends to a bounded list, dropping the oldest. */
export function remember<T>(list: T[], item: T, size: number): void {
  list.push(item);
  if (list.length > size) list.splice(0, list.length - size);
}
