import type { FakeKubeApi, Plural } from '../../../discovery/test/helpers/fake-kube-api.ts';
import { endpointSlice } from '../../../discovery/test/helpers/kube-fixtures.ts';
import type { Pod } from './pods.ts';

/**
 * The Gateway API test infrastructure, shaped after the upstream conformance suite's base (three
 * namespaces, Gateways that allow routes from the same namespace, all, or a label selector, and echo
 * backends), written for Portico's tests: Portico's listeners are on free ports and say which Gateway
 * ports they serve with `gatewayPort`.
 */

export const INFRA = 'gateway-conformance-infra';
export const WEB = 'gateway-conformance-web-backend';
export const APP = 'gateway-conformance-app-backend';
export const GATEWAY_CLASS = 'portico';
export const CONTROLLER_NAME = 'portico.dev/gateway-controller';

/**
 * GATEWAY_BASE_CONFIG: Portico's listeners serve Gateway ports 80 (HTTP, with h2c for gRPC), 443 (HTTPS)
 * and 8443 (TLS passthrough, its SNI entries all from TLSRoutes).
 */
export const GATEWAY_BASE_CONFIG = `listeners:
  - { name: http, address: 127.0.0.1, port: 0, gatewayPort: 80, h2c: true }
  - { name: https, address: 127.0.0.1, port: 0, gatewayPort: 443, protocol: https, tls: {} }
  - { name: passthrough, address: 127.0.0.1, port: 0, gatewayPort: 8443, protocol: tls-passthrough, sni: [] }
admin: { address: 127.0.0.1, port: 0 }
`;

/** BACKENDS are the echo backends: Service name, namespace, and the pod's loopback address index. */
export const BACKENDS = [
  { name: 'infra-backend-v1', namespace: INFRA },
  { name: 'infra-backend-v2', namespace: INFRA },
  { name: 'infra-backend-v3', namespace: INFRA },
  { name: 'web-backend', namespace: WEB },
  { name: 'app-backend-v1', namespace: APP },
  { name: 'app-backend-v2', namespace: APP },
] as const;

export type KubeObjectInput = {
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

/** Applied is one object a test applies: its plural and the object. */
export interface Applied {
  readonly plural: Plural;
  readonly object: KubeObjectInput;
}

export function gatewayClass(name = GATEWAY_CLASS, controllerName = CONTROLLER_NAME): Applied {
  return { plural: 'gatewayclasses', object: { metadata: { name }, spec: { controllerName } } };
}

export function gateway(
  name: string,
  listeners: object[],
  namespace = INFRA,
  className = GATEWAY_CLASS,
): Applied {
  return {
    plural: 'gateways',
    object: { metadata: { name, namespace }, spec: { gatewayClassName: className, listeners } },
  };
}

export function httpRoute(name: string, spec: object, namespace = INFRA): Applied {
  return { plural: 'httproutes', object: { metadata: { name, namespace }, spec } };
}

export function tlsRoute(name: string, spec: object, namespace = INFRA): Applied {
  return { plural: 'tlsroutes', object: { metadata: { name, namespace }, spec } };
}

export function grpcRoute(name: string, spec: object, namespace = INFRA): Applied {
  return { plural: 'grpcroutes', object: { metadata: { name, namespace }, spec } };
}

export function referenceGrant(name: string, namespace: string, spec: object): Applied {
  return { plural: 'referencegrants', object: { metadata: { name, namespace }, spec } };
}

/** httpListener is a Gateway listener on port 80. */
export function httpListener(name: string, from: object = { from: 'Same' }, extra: object = {}) {
  return { name, port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: from }, ...extra };
}

/** applyInfra applies the namespaces, the GatewayClass, the three base Gateways and the backends. */
export function applyInfra(api: FakeKubeApi, pods: readonly Pod[]): void {
  api.apply('namespaces', { metadata: { name: INFRA, labels: { 'gateway-conformance': 'infra' } } });
  api.apply('namespaces', { metadata: { name: WEB, labels: { 'gateway-conformance': 'backend' } } });
  api.apply('namespaces', { metadata: { name: APP, labels: { 'gateway-conformance': 'backend' } } });
  api.apply('namespaces', { metadata: { name: 'default' } });
  for (const o of baseGateways()) api.apply(o.plural, o.object);
  BACKENDS.forEach((b, i) => {
    const pod = pods[i]!;
    api.apply('services', {
      metadata: { name: b.name, namespace: b.namespace },
      spec: {
        type: 'ClusterIP',
        ports: [
          { name: 'first-port', protocol: 'TCP', port: 8080, targetPort: 3000 },
          {
            name: 'second-port',
            protocol: 'TCP',
            port: 8081,
            targetPort: 3001,
            appProtocol: 'kubernetes.io/h2c',
          },
        ],
      },
    });
    api.apply(
      'endpointslices',
      endpointSlice(
        `${b.name}-1`,
        b.name,
        [{ address: pod.address }],
        [{ name: 'first-port', port: pod.port }],
        b.namespace,
      ),
    );
  });
}

/** baseGateways are the GatewayClass and the Gateways every case may attach to. */
export function baseGateways(): Applied[] {
  return [
    gatewayClass(),
    gateway('same-namespace', [httpListener('http')]),
    gateway('all-namespaces', [httpListener('http', { from: 'All' })]),
    gateway('backend-namespaces', [
      httpListener('http', {
        from: 'Selector',
        selector: { matchLabels: { 'gateway-conformance': 'backend' } },
      }),
    ]),
  ];
}
