export { type Cidr, parseCidr } from './cidr.ts';
export {
  CONFIG_ERROR_CODES,
  type ConfigErrorCode,
  type ConfigIssue,
  formatIssue,
  jsonPath,
  PorticoConfigError,
} from './config-error.ts';
export { renderConfigValidator } from './config-validator-source.ts';
export * from './defaults.ts';
export { pathDestination } from './path-destination.ts';
export type {
  AccessListConfig,
  AcmeConfig,
  AdminConfig,
  AffinityConfig,
  BasicAuthConfig,
  CertificateConfig,
  ClientCertificateConfig,
  CompressionConfig,
  CorsConfig,
  EndpointConfig,
  ErrorPageConfig,
  ForwardAuthConfig,
  ForwardingConfig,
  HashKeyConfig,
  HeaderRulesConfig,
  HealthCheckConfig,
  HstsConfig,
  InFlightConfig,
  LimitsConfig,
  ListenerConfig,
  ListenerTlsConfig,
  OutlierDetectionConfig,
  PathFilterConfig,
  PorticoConfig,
  PorticoConfigInput,
  RateLimitConfig,
  RateLimitStoreConfig,
  RedirectConfig,
  RequestParsingConfig,
  RetriesConfig,
  RouteConfig,
  RoutePathConfig,
  ServiceConfig,
  TimeoutsConfig,
  TracingConfig,
  UpstreamPoolConfig,
  UpstreamTlsConfig,
  UrlRewriteConfig,
} from './schema.ts';
export {
  BALANCERS,
  ESCAPED_SLASH_ACTIONS,
  HASH_SOURCES,
  PATH_FILTERS,
  PATH_TYPES,
  TLS_VERSIONS,
} from './schema-constants.ts';
export { REDACTED, redactSecrets, restoreSecrets } from './secrets.ts';
export {
  type ConfigValidation,
  htpasswdProblem,
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
