export { type AdminServer, adminPlugin, startAdminServer } from './admin-server.ts';
export type {
  AcmeHostView,
  AdminSource,
  CertificatesView,
  CertificateView,
  ConfigDiffView,
  ConfigHistoryEntry,
  CountersView,
  DiscoveryView,
  EndpointEventView,
  EndpointView,
  HistogramView,
  ListenerView,
  ProblemView,
  ReplaceResult,
  RouteView,
  ServiceView,
  SourceIssueView,
  StatusView,
  TrafficEntry,
  TrafficView,
  WatchView,
  WorkerStatusView,
} from './admin-source.ts';
export { createMetrics, createPorticoMetrics, type Metrics } from './metrics.ts';
export {
  HISTORY_WINDOW_MS,
  type HistoryPoint,
  type HistoryView,
  MetricsHistory,
  quantile,
  type SeriesPoint,
} from './metrics-history.ts';
export { tokenMatches } from './token-guard.ts';
