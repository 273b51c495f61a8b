/** DISCOVERY_ERROR_CODES lists every code a `PorticoDiscoveryError` carries. */
export const DISCOVERY_ERROR_CODES = {
  PORTICO_CONFIG_FILE_UNREADABLE: 'The config file cannot be read (missing, a directory, no permission).',
  PORTICO_CONFIG_SYNTAX: 'The config file is not valid YAML or JSON.',
  PORTICO_KUBE_CONFIG_INVALID:
    'No usable Kubernetes connection: the kubeconfig (or in-cluster service account) is missing, unreadable or lacks a field.',
  PORTICO_KUBE_API:
    'A Kubernetes API request failed (connection refused, timeout, non-2xx status); the watch retries with backoff.',
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
