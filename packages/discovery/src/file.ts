/**
 * The file source alone (`@portico/discovery/file`): what `portico run --config`, `validate` and
 * `explain` need, without loading the Kubernetes source's modules. Everything here is also exported by
 * the package's main entry.
 */
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
export { resolveReferencedFiles } from './referenced-files.ts';
export { DEFAULT_DEBOUNCE_MS, StaticFileDiscovery, type StaticFileOptions } from './static-file-discovery.ts';
