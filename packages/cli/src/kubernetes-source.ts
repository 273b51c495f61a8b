import { dirname } from 'node:path';
import { DEFAULT_ADMIN, type PorticoConfigInput } from '@portico/config';
import {
  formatProblem,
  type KubeIssue,
  KubernetesDiscovery,
  loadConfigFile,
  type PublishOptions,
  resolveKubeConnection,
  resolveReferencedFiles,
  type WatchOptions,
} from '@portico/discovery';
import type { Logger } from 'pino';

/** KubernetesRunOptions are the `portico run --kubernetes` options. */
export interface KubernetesRunOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** ingressClass is the class name of the legacy annotation; `portico` by default. */
  readonly ingressClass?: string;
  /** controller is the IngressClass controller served; `portico.dev/ingress-controller` by default. */
  readonly controller?: string;
  readonly namespaces?: readonly string[];
  readonly labelSelector?: string;
  readonly allowExternalName?: boolean;
  /** sslRedirect redirects plain HTTP to HTTPS for the hosts Ingresses have TLS for: off by default. */
  readonly sslRedirect?: boolean;
  /**
   * nginxClass is the ingress-nginx class whose Ingresses are served with its semantics and annotations
   * (docs/migrate-from-ingress-nginx.md); none by default.
   */
  readonly nginxClass?: string;
  /** allowUnsafeAnnotations serves ingress-nginx Ingresses whose security-relevant annotations cannot be honoured. */
  readonly allowUnsafeAnnotations?: boolean;
  /** gatewayApi: false does not watch the Gateway API even when its CRDs are installed. */
  readonly gatewayApi?: boolean;
  /** gatewayControllerName is the GatewayClass controllerName served: `portico.dev/gateway-controller`. */
  readonly gatewayControllerName?: string;
  /** leaderElection: false lets this instance write status and Events without a Lease. */
  readonly leaderElection?: boolean;
  readonly electionNamespace?: string;
  readonly electionId?: string;
  readonly leaseDurationMs?: number;
  readonly publishAddresses?: readonly string[];
  readonly publishService?: string;
  readonly publishPods?: string;
  readonly watch?: Partial<WatchOptions>;
  /** env is read for the in-cluster connection and POD_NAME/POD_NAMESPACE; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  readonly serviceAccountDir?: string;
}

/**
 * DEFAULT_KUBERNETES_BASE is the config an ingress controller runs with when no `--config` is given: HTTP
 * on 80 and HTTPS on 443 on every address (the default certificate for hosts without a Secret), and
 * the admin API on loopback.
 */
export const DEFAULT_KUBERNETES_BASE: PorticoConfigInput = {
  listeners: [
    { name: 'http', address: '0.0.0.0', port: 80, protocol: 'http' },
    { name: 'https', address: '0.0.0.0', port: 443, protocol: 'https', tls: {} },
  ],
  admin: { address: DEFAULT_ADMIN.address, port: DEFAULT_ADMIN.port },
};

/** loadBase reads the base config (listeners, admin, limits...) from `file`, or returns the defaults. */
async function loadBase(
  file: string | undefined,
  log: Logger,
): Promise<{ base: PorticoConfigInput; source: string }> {
  if (file === undefined) return { base: DEFAULT_KUBERNETES_BASE, source: 'built-in defaults' };
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    for (const problem of loaded.problems)
      log.error({ code: problem.code, where: problem.where }, formatProblem(problem));
    throw new Error(`${file} is invalid`);
  }
  return { base: resolveReferencedFiles(loaded.config, dirname(file)).config, source: file };
}

/** issueKey identifies an issue, to log each one once. */
function issueKey(issue: KubeIssue): string {
  return `${issue.object.namespace}/${issue.object.name}|${issue.code}|${issue.field}|${issue.message}`;
}

/** createKubernetesDiscovery builds the Kubernetes source of `portico run --kubernetes`, logging what it finds. */
export async function createKubernetesDiscovery(
  options: KubernetesRunOptions,
  configFile: string | undefined,
  log: Logger,
): Promise<KubernetesDiscovery> {
  const env = options.env ?? process.env;
  const connection = resolveKubeConnection({
    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
    ...(options.context === undefined ? {} : { context: options.context }),
    env,
    ...(options.serviceAccountDir === undefined ? {} : { serviceAccountDir: options.serviceAccountDir }),
  });
  const { base, source } = await loadBase(configFile, log);
  const podNamespace = env.POD_NAMESPACE ?? connection.namespace;
  const publish: PublishOptions = {
    ...(options.publishAddresses?.length ? { addresses: options.publishAddresses } : {}),
    ...(options.publishService === undefined ? {} : { service: options.publishService }),
    ...(options.publishPods === undefined ? {} : { podSelector: options.publishPods, podNamespace }),
  };
  let logged = new Set<string>();
  log.info({ connection: connection.description, server: connection.server }, 'watching the Kubernetes API');
  return new KubernetesDiscovery({
    connection,
    base,
    baseSource: source,
    ...(options.controller === undefined ? {} : { controller: options.controller }),
    ...(options.ingressClass === undefined ? {} : { ingressClass: options.ingressClass }),
    ...(options.namespaces === undefined ? {} : { namespaces: options.namespaces }),
    ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }),
    allowExternalName: options.allowExternalName ?? false,
    sslRedirect: options.sslRedirect ?? false,
    ...(options.nginxClass === undefined ? {} : { nginxClass: options.nginxClass }),
    allowUnsafeAnnotations: options.allowUnsafeAnnotations ?? false,
    gatewayApi: options.gatewayApi ?? true,
    ...(options.gatewayControllerName === undefined
      ? {}
      : { gatewayControllerName: options.gatewayControllerName }),
    ...(options.watch === undefined ? {} : { watch: options.watch }),
    election:
      options.leaderElection === false
        ? false
        : {
            namespace: options.electionNamespace ?? podNamespace,
            ...(options.electionId === undefined ? {} : { name: options.electionId }),
            ...(env.POD_NAME === undefined ? {} : { identity: env.POD_NAME }),
            ...(options.leaseDurationMs === undefined
              ? {}
              : {
                  leaseDurationMs: options.leaseDurationMs,
                  renewDeadlineMs: Math.round((options.leaseDurationMs * 2) / 3),
                  retryPeriodMs: Math.max(100, Math.round(options.leaseDurationMs / 7.5)),
                }),
          },
    ...(Object.keys(publish).length === 0 ? {} : { publish }),
    onIssues: (issues) => {
      const now = new Set<string>();
      for (const issue of issues) {
        const key = issueKey(issue);
        now.add(key);
        if (logged.has(key)) continue;
        const { kind, namespace, name } = issue.object;
        log.warn(
          { code: issue.code, object: `${kind} ${namespace}/${name}`, field: issue.field },
          `${kind} ${namespace}/${name}: ${issue.message}`,
        );
      }
      logged = now;
    },
    onLeadership: (leading) =>
      leading
        ? log.info({ leading }, 'leader gained: this instance now writes status and Events')
        : log.warn({ leading }, 'leader lost: another instance writes status and Events'),
    onWatchError: (error, kind, namespace) =>
      log.warn(
        { kind, namespace: namespace ?? '*', err: error.message },
        `${kind} watch failed: ${error.message}; retrying with backoff`,
      ),
  });
}
