export { type AdminServer, adminPlugin, startAdminServer } from './admin-server.ts';
export type {
  AdminSource,
  CountersView,
  EndpointView,
  ListenerView,
  ProblemView,
  RouteView,
  ServiceView,
  StatusView,
} from './admin-source.ts';
export { createMetrics } from './metrics.ts';
export { tokenMatches } from './token-guard.ts';
