export { type AdminServer, adminPlugin, startAdminServer } from './admin-server.ts';
export type {
  AdminSource,
  ConfigDiffView,
  CountersView,
  DiscoveryView,
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
export { tokenMatches } from './token-guard.ts';
