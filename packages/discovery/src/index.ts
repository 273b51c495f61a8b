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
export type { AcmeRequest } from './kubernetes/acme-request.ts';
export { EventRecorder } from './kubernetes/event-recorder.ts';
export * from './kubernetes/gateway-objects.ts';
export { GatewayStatusWriter } from './kubernetes/gateway-status-writer.ts';
export {
  DEFAULT_GATEWAY_CONTROLLER,
  type GatewayState,
  type GatewayStatusPlan,
  type GatewayTranslateOptions,
  type GatewayTranslation,
  intersectHostnames,
  parseDuration,
  translateGateways,
} from './kubernetes/gateway-translate.ts';
export {
  ANNOTATION_PREFIX,
  ANNOTATIONS,
  type IngressSettings,
  readIngressAnnotations,
} from './kubernetes/ingress-annotations.ts';
export { IngressStatusWriter, type PublishOptions } from './kubernetes/ingress-status-writer.ts';
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
  KUBERNETES_ISSUE_CODES,
  type KubeIssue,
  type KubernetesIssueCode,
  type ObjectRef,
} from './kubernetes/kube-issue.ts';
export * from './kubernetes/kube-objects.ts';
export {
  KubernetesDiscovery,
  type KubernetesDiscoveryOptions,
  type KubernetesView,
  type RouteCheckProblem,
} from './kubernetes/kubernetes-discovery.ts';
export {
  DEFAULT_LEASE_NAME,
  DEFAULT_LEASE_TIMING,
  LeaseElection,
  type LeaseElectionOptions,
} from './kubernetes/lease-election.ts';
export {
  NGINX_ANNOTATIONS,
  NGINX_PREFIX,
  type NginxAnnotation,
  type NginxFinding,
  type NginxSupport,
  nginxSize,
  readNginxAnnotations,
} from './kubernetes/nginx-annotations.ts';
export {
  collectionPath,
  DEFAULT_WATCH_OPTIONS,
  Reflector,
  type ReflectorHooks,
  type ReflectorStats,
  type ResourcePath,
  type WatchOptions,
} from './kubernetes/reflector.ts';
export {
  type ClusterState,
  DEFAULT_CLIENT_IP_TIMEOUT_SECONDS,
  DEFAULT_CONTROLLER,
  DEFAULT_INGRESS_CLASS,
  ingressFlavor,
  isPorticoIngress,
  type ObjectStore,
  type TranslateOptions,
  type Translation,
  translateCluster,
} from './kubernetes/translate.ts';
export { TranslationCache } from './kubernetes/translation-cache.ts';
export { resolveReferencedFiles } from './referenced-files.ts';
export { DEFAULT_DEBOUNCE_MS, StaticFileDiscovery, type StaticFileOptions } from './static-file-discovery.ts';
