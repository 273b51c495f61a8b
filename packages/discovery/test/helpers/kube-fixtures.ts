/**
 * Kubernetes objects for tests, shaped after the API reference (networking.k8s.io/v1 Ingress and
 * IngressClass, v1 Service and Secret, discovery.k8s.io/v1 EndpointSlice), not after Portico's types.
 */

export const CONTROLLER = 'portico.dev/ingress-controller';

export function ingressClass(name: string, options: { isDefault?: boolean; controller?: string } = {}) {
  return {
    metadata: {
      name,
      ...(options.isDefault
        ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }
        : {}),
    },
    spec: { controller: options.controller ?? CONTROLLER },
  };
}

export interface PathSpec {
  path?: string;
  pathType?: string;
  service: string;
  port: number | string;
}

export function ingress(
  name: string,
  options: {
    namespace?: string;
    className?: string | null;
    host?: string;
    paths?: PathSpec[];
    rules?: { host?: string; paths: PathSpec[] }[];
    defaultBackend?: { service: string; port: number | string };
    tls?: { hosts?: string[]; secretName: string }[];
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  },
) {
  const backend = (service: string, port: number | string) => ({
    service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } },
  });
  const rules =
    options.rules ?? (options.paths === undefined ? [] : [{ host: options.host, paths: options.paths }]);
  return {
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
      ...(options.labels === undefined ? {} : { labels: options.labels }),
    },
    spec: {
      ...(options.className === null ? {} : { ingressClassName: options.className ?? 'portico' }),
      ...(options.defaultBackend === undefined
        ? {}
        : { defaultBackend: backend(options.defaultBackend.service, options.defaultBackend.port) }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      rules: rules.map((rule) => ({
        ...(rule.host === undefined ? {} : { host: rule.host }),
        http: {
          paths: rule.paths.map((p) => ({
            path: p.path ?? '/',
            pathType: p.pathType ?? 'Prefix',
            backend: backend(p.service, p.port),
          })),
        },
      })),
    },
  };
}

export function service(
  name: string,
  options: {
    namespace?: string;
    ports?: { name?: string; port: number; targetPort?: number | string }[];
    type?: string;
    externalName?: string;
    clientIpTimeoutSeconds?: number;
  } = {},
) {
  return {
    metadata: { name, namespace: options.namespace ?? 'default' },
    spec: {
      type: options.type ?? 'ClusterIP',
      ...(options.externalName === undefined ? {} : { externalName: options.externalName }),
      clusterIP: options.type === 'ExternalName' ? undefined : '10.96.0.10',
      ports: (options.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }]).map((p) => ({
        protocol: 'TCP',
        ...p,
      })),
      ...(options.clientIpTimeoutSeconds === undefined
        ? { sessionAffinity: 'None' }
        : {
            sessionAffinity: 'ClientIP',
            sessionAffinityConfig: { clientIP: { timeoutSeconds: options.clientIpTimeoutSeconds } },
          }),
    },
  };
}

export interface SliceEndpointSpec {
  address: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function endpointSlice(
  name: string,
  serviceName: string,
  endpoints: SliceEndpointSpec[],
  ports: { name?: string; port: number }[],
  namespace = 'default',
) {
  return {
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: endpoints.some((e) => e.address.includes(':')) ? 'IPv6' : 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.address],
      conditions: {
        ready: e.ready ?? true,
        serving: e.serving ?? e.ready ?? true,
        terminating: e.terminating ?? false,
      },
    })),
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: 'TCP' })),
  };
}

export function tlsSecret(name: string, cert: string, key: string, namespace = 'default') {
  return {
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(cert).toString('base64'),
      'tls.key': Buffer.from(key).toString('base64'),
    },
  };
}
