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
