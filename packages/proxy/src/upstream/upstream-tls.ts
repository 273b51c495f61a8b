import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { UpstreamTlsConfig } from '@portico/config';

/** UpstreamTls is how connections to a service's endpoints speak TLS, compiled once per config change. */
export interface UpstreamTls {
  /** id identifies the settings: endpoints with different TLS settings never share pooled connections. */
  readonly id: string;
  readonly options: ConnectionOptions;
}

/**
 * compileUpstreamTls reads a service's CA bundle and client certificate (files are read here, once per
 * config change) and returns the options for `tls.connect`: the endpoint's certificate is verified against
 * `ca` (Node's roots without it) for `serverName`, which is also the SNI sent; ALPN offers only HTTP/1.1.
 * A file that cannot be read throws, refusing the config (the last good one keeps serving).
 */
export function compileUpstreamTls(service: string, config: UpstreamTlsConfig): UpstreamTls {
  const read = (path: string | undefined, what: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`service "${service}": cannot read tls.${what} ${path}: ${(error as Error).message}`);
    }
  };
  const ca = config.ca ?? read(config.caFile, 'caFile');
  const cert = config.cert ?? read(config.certFile, 'certFile');
  const key = config.key ?? read(config.keyFile, 'keyFile');
  const options: ConnectionOptions = {
    rejectUnauthorized: config.verify ?? true,
    ALPNProtocols: ['http/1.1'],
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(config.serverName === undefined ? {} : { servername: config.serverName }),
  };
  const id = createHash('sha256')
    .update(JSON.stringify([ca, cert, key, config.serverName, config.verify]))
    .digest('base64')
    .slice(0, 16);
  return { id, options };
}
