export { type Cidr, parseCidr } from './cidr.ts';
export {
  CONFIG_ERROR_CODES,
  type ConfigErrorCode,
  type ConfigIssue,
  formatIssue,
  jsonPath,
  PorticoConfigError,
} from './config-error.ts';
export * from './defaults.ts';
export {
  type AdminConfig,
  type AffinityConfig,
  BALANCERS,
  type EndpointConfig,
  type ForwardingConfig,
  HASH_SOURCES,
  type HashKeyConfig,
  type HeaderRulesConfig,
  type HealthCheckConfig,
  type LimitsConfig,
  type ListenerConfig,
  type OutlierDetectionConfig,
  PATH_TYPES,
  type PorticoConfig,
  type PorticoConfigInput,
  PorticoConfigSchema,
  type RedirectConfig,
  type RetriesConfig,
  type RouteConfig,
  type RoutePathConfig,
  type ServiceConfig,
  type TimeoutsConfig,
  type UpstreamPoolConfig,
} from './schema.ts';
export { type ConfigValidation, parseConfig, validateConfig } from './validate-config.ts';
