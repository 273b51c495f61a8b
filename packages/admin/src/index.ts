export { type AdminServer, adminPlugin, startAdminServer } from './admin-server.ts';
export type {
  AdminSource,
  CountersView,
  EndpointView,
  HistogramView,
  ListenerView,
  ProblemView,
  RouteView,
  ServiceView,
  StatusView,
  TrafficEntry,
  TrafficView,
} from './admin-source.ts';
export { createMetrics, createPorticoMetrics, type Metrics } from './metrics.ts';
export { tokenMatches } from './token-guard.ts';
