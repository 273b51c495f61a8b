import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { PorticoDiscoveryError } from '../discovery-error.ts';

/**
 * KubeConnection says how to reach and authenticate to a Kubernetes API server. `tokenFile` is re-read as
 * it rotates (projected service-account tokens are replaced about every hour).
 */
export interface KubeConnection {
  /** server is the API server's base URL (`https://10.0.0.1:443`). */
  readonly server: string;
  /** ca is the PEM bundle that signs the server's certificate; default: Node's roots. */
  readonly ca?: string;
  /** cert and key are a client certificate and its key (PEM), for certificate authentication. */
  readonly cert?: string;
  readonly key?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly insecureSkipTlsVerify?: boolean;
  /** namespace is the connection's own namespace (in-cluster: the pod's), used for the leader Lease. */
  readonly namespace: string;
  /** description says where the connection came from, for logs. */
  readonly description: string;
}

/** SERVICE_ACCOUNT_DIR is where Kubernetes mounts a pod's service-account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** KubeConnectionOptions choose a connection: an explicit kubeconfig, in-cluster, `KUBECONFIG`, `~/.kube/config`. */
export interface KubeConnectionOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** env defaults to `process.env` (tests pass their own). */
  readonly env?: NodeJS.ProcessEnv;
  /** serviceAccountDir defaults to `SERVICE_ACCOUNT_DIR`. */
  readonly serviceAccountDir?: string;
}

function invalid(message: string, cause?: unknown): PorticoDiscoveryError {
  return new PorticoDiscoveryError(
    'PORTICO_KUBE_CONFIG_INVALID',
    message,
    cause === undefined ? {} : { cause },
  );
}

/**
 * resolveKubeConnection finds the connection the way client-go's controllers do: `--kubeconfig` if given,
 * else the in-cluster service account when `KUBERNETES_SERVICE_HOST` is set, else the first file of
 * `KUBECONFIG`, else `~/.kube/config`.
 */
export function resolveKubeConnection(options: KubeConnectionOptions = {}): KubeConnection {
  const env = options.env ?? process.env;
  if (options.kubeconfig !== undefined) return loadKubeconfig(options.kubeconfig, options.context);
  if (env.KUBERNETES_SERVICE_HOST !== undefined)
    return inClusterConnection(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  const fromEnv = env.KUBECONFIG?.split(':').find((file) => file !== '');
  const file = fromEnv ?? join(homedir(), '.kube', 'config');
  if (!existsSync(file))
    throw invalid(
      'no Kubernetes connection: pass --kubeconfig, set KUBECONFIG, or run in a pod with a service account',
    );
  return loadKubeconfig(file, options.context);
}

/** inClusterConnection reads a pod's service account: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`. */
export function inClusterConnection(env: NodeJS.ProcessEnv, dir: string): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (host === undefined || host === '')
    throw invalid('KUBERNETES_SERVICE_HOST is not set: not in a cluster');
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (error) {
      throw invalid(`in-cluster config: cannot read ${join(dir, name)}`, error);
    }
  };
  read('token');
  const namespace = existsSync(join(dir, 'namespace')) ? read('namespace').trim() : 'default';
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: read('ca.crt'),
    tokenFile: join(dir, 'token'),
    namespace,
    description: `in-cluster service account (${dir})`,
  };
}

interface Named<T> {
  name?: string;
  cluster?: T;
  user?: T;
  context?: T;
}

/** loadKubeconfig reads a kubeconfig file and picks `context` (default: its current-context). */
export function loadKubeconfig(file: string, context?: string): KubeConnection {
  const path = resolve(file);
  let doc: Record<string, unknown>;
  try {
    doc = (parse(readFileSync(path, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (error) {
    throw invalid(`kubeconfig ${path}: ${(error as Error).message}`, error);
  }
  const where = `kubeconfig ${path}`;
  const find = <T>(list: unknown, name: string, what: string): T => {
    const entry = (Array.isArray(list) ? (list as Named<T>[]) : []).find((e) => e?.name === name);
    const value = entry?.cluster ?? entry?.user ?? entry?.context;
    if (value === undefined) throw invalid(`${where}: ${what} "${name}" is not defined`);
    return value;
  };
  const contextName = context ?? (doc['current-context'] as string | undefined);
  if (contextName === undefined || contextName === '')
    throw invalid(`${where}: no current-context; pass --context`);
  const ctx = find<{ cluster?: string; user?: string; namespace?: string }>(
    doc.contexts,
    contextName,
    'context',
  );
  if (ctx.cluster === undefined) throw invalid(`${where}: context "${contextName}" names no cluster`);
  const cluster = find<Record<string, unknown>>(doc.clusters, ctx.cluster, 'cluster');
  const user = ctx.user === undefined ? {} : find<Record<string, unknown>>(doc.users, ctx.user, 'user');
  const base = dirname(path);
  const pem = (data: unknown, fileField: unknown, field: string): string | undefined => {
    if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
    if (typeof fileField !== 'string') return undefined;
    try {
      return readFileSync(resolve(base, fileField), 'utf8');
    } catch (error) {
      throw invalid(`${where}: ${field} ${fileField} cannot be read`, error);
    }
  };
  const server = cluster.server;
  if (typeof server !== 'string') throw invalid(`${where}: cluster "${ctx.cluster}" has no server`);
  if (user.exec !== undefined || user['auth-provider'] !== undefined)
    throw invalid(
      `${where}: user "${ctx.user}" uses an exec or auth-provider plugin, which Portico does not run; use a token or client certificate`,
    );
  const ca = pem(
    cluster['certificate-authority-data'],
    cluster['certificate-authority'],
    'certificate-authority',
  );
  const cert = pem(user['client-certificate-data'], user['client-certificate'], 'client-certificate');
  const key = pem(user['client-key-data'], user['client-key'], 'client-key');
  const tokenFile = typeof user.tokenFile === 'string' ? resolve(base, user.tokenFile) : undefined;
  return {
    server: server.replace(/\/+$/, ''),
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(typeof user.token === 'string' ? { token: user.token } : {}),
    ...(tokenFile === undefined ? {} : { tokenFile }),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    namespace: ctx.namespace ?? 'default',
    description: `${where}, context ${contextName}`,
  };
}
