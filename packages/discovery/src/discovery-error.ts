/** DISCOVERY_ERROR_CODES lists every code a `PorticoDiscoveryError` carries. */
export const DISCOVERY_ERROR_CODES = {
  PORTICO_CONFIG_FILE_UNREADABLE: 'The config file cannot be read (missing, a directory, no permission).',
  PORTICO_CONFIG_SYNTAX: 'The config file is not valid YAML or JSON.',
} as const;

export type DiscoveryErrorCode = keyof typeof DISCOVERY_ERROR_CODES;

/** PorticoDiscoveryError is the base error of `@portico/discovery`. */
export class PorticoDiscoveryError extends Error {
  readonly code: DiscoveryErrorCode;

  constructor(code: DiscoveryErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PorticoDiscoveryError';
    this.code = code;
  }
}
