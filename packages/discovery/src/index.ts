export {
  type FileProblem,
  formatProblem,
  type LoadedConfig,
  loadConfigFile,
  parseConfigText,
  parseJsonPath,
} from './config-file.ts';
export type { ConfigUpdate, Discovery } from './discovery.ts';
export { DISCOVERY_ERROR_CODES, type DiscoveryErrorCode, PorticoDiscoveryError } from './discovery-error.ts';
export { DEFAULT_DEBOUNCE_MS, StaticFileDiscovery, type StaticFileOptions } from './static-file-discovery.ts';
export { KubeApiError, KubeClient, type KubeRequest } from './kubernetes/kube-client.ts';
export {
  inClusterConnection,
  type KubeConnection,
  type KubeConnectionOptions,
  loadKubeconfig,
  resolveKubeConnection,
  SERVICE_ACCOUNT_DIR,
} from './kubernetes/kube-connection.ts';
export {
  collectionPath,
  DEFAULT_WATCH_OPTIONS,
  Reflector,
  type ReflectorHooks,
  type ReflectorStats,
  type ResourcePath,
  type WatchOptions,
} from './kubernetes/reflector.ts';
