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
export { pathDestination } from './path-destination.ts';
export {
  type AccessListConfig,
  type AdminConfig,
  type AffinityConfig,
  BALANCERS,
  type CertificateConfig,
  type ClientCertificateConfig,
  type CorsConfig,
  type EndpointConfig,
  ESCAPED_SLASH_ACTIONS,
  type ForwardingConfig,
  HASH_SOURCES,
  type HashKeyConfig,
  type HeaderRulesConfig,
  type HealthCheckConfig,
  type HstsConfig,
  type LimitsConfig,
  type ListenerConfig,
  type ListenerTlsConfig,
  type OutlierDetectionConfig,
  PATH_FILTERS,
  PATH_TYPES,
  type PathFilterConfig,
  type PorticoConfig,
  type PorticoConfigInput,
  PorticoConfigSchema,
  type RateLimitConfig,
  type RedirectConfig,
  type RequestParsingConfig,
  type RetriesConfig,
  type RouteConfig,
  type RoutePathConfig,
  type ServiceConfig,
  type TimeoutsConfig,
  TLS_VERSIONS,
  type UpstreamPoolConfig,
  type UpstreamTlsConfig,
  type UrlRewriteConfig,
} from './schema.ts';
export { REDACTED, redactSecrets, restoreSecrets } from './secrets.ts';
export {
  type ConfigValidation,
  parseConfig,
  type ValidateOptions,
  validateConfig,
} from './validate-config.ts';
export { type ServiceDiff, ValidationMemo } from './validation-memo.ts';
export {
  AUTHORITY,
  COOKIE_PATH,
  FIELD_VALUE,
  HOST_NAME,
  QUERY_NAME,
  TOKEN,
  WIRE_MEANINGS,
  WIRE_PATH,
  wireProblem,
} from './wire-safe.ts';
