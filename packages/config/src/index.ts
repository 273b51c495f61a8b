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
  BALANCERS,
  type EndpointConfig,
  type ForwardingConfig,
  type HeaderRulesConfig,
  type LimitsConfig,
  type ListenerConfig,
  PATH_TYPES,
  type PorticoConfig,
  type PorticoConfigInput,
  PorticoConfigSchema,
  type RedirectConfig,
  type RouteConfig,
  type RoutePathConfig,
  type ServiceConfig,
  type TimeoutsConfig,
  type UpstreamPoolConfig,
} from './schema.ts';
export { type ConfigValidation, parseConfig, validateConfig } from './validate-config.ts';
