export {
  type AccessLogFormat,
  COMBINED,
  compileTemplate,
  consoleLine,
  escapeLogValue,
  LOG_VARIABLES,
  timeLocal,
} from './access-log-format.ts';
export { checkRoutes, type RouteCheck } from './check-routes.ts';
export { explainCommand } from './commands/explain.ts';
export { ConfigRejectedError, type RunningPortico, type RunOptions, startPortico } from './commands/run.ts';
export { validateCommand } from './commands/validate.ts';
export {
  type ChangeList,
  type ConfigChange,
  changeCounts,
  configChange,
  describeChange,
} from './config-change.ts';
export { DEFAULT_KUBERNETES_BASE, type KubernetesRunOptions } from './kubernetes-source.ts';
export { VERSION } from './version.ts';
export { type ConfigDelta, diffConfig, patchConfig } from './workers/config-delta.ts';
export { WorkerConfigs, workerConfig } from './workers/worker-config.ts';
