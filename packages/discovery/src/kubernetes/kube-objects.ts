/**
 * The Kubernetes object shapes Portico reads, as the API reference defines them (only the fields used).
 * Objects from the API are trimmed to these fields as they arrive (`managedFields`, `spec` fields of no
 * interest and the like are dropped), which keeps the stores small.
 */

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
}

export interface ServiceBackendPort {
  readonly name?: string;
  readonly number?: number;
}

export interface IngressBackend {
  readonly service?: { readonly name: string; readonly port?: ServiceBackendPort };
  readonly resource?: { readonly apiGroup?: string; readonly kind: string; readonly name: string };
}

export interface HttpIngressPath {
  readonly path?: string;
  readonly pathType?: string;
  readonly backend: IngressBackend;
}

export interface IngressRule {
  readonly host?: string;
  readonly http?: { readonly paths?: readonly HttpIngressPath[] };
}

export interface IngressTls {
  readonly hosts?: readonly string[];
  readonly secretName?: string;
}

export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
}

export interface Ingress extends KubeObject {
  readonly spec?: {
    readonly ingressClassName?: string;
    readonly defaultBackend?: IngressBackend;
    readonly rules?: readonly IngressRule[];
    readonly tls?: readonly IngressTls[];
  };
  readonly status?: { readonly loadBalancer?: { readonly ingress?: readonly LoadBalancerIngress[] } };
}

export interface IngressClass extends KubeObject {
  readonly spec?: { readonly controller?: string };
}

export interface ServicePort {
  readonly name?: string;
  readonly port: number;
  readonly protocol?: string;
  readonly targetPort?: number | string;
}

export interface Service extends KubeObject {
  readonly spec?: {
    readonly type?: string;
    readonly ports?: readonly ServicePort[];
    readonly externalName?: string;
    readonly sessionAffinity?: string;
    readonly sessionAffinityConfig?: { readonly clientIP?: { readonly timeoutSeconds?: number } };
    readonly externalIPs?: readonly string[];
  };
  readonly status?: { readonly loadBalancer?: { readonly ingress?: readonly LoadBalancerIngress[] } };
}

export interface EndpointConditions {
  readonly ready?: boolean | null;
  readonly serving?: boolean | null;
  readonly terminating?: boolean | null;
}

export interface SliceEndpoint {
  readonly addresses: readonly string[];
  readonly conditions?: EndpointConditions;
}

export interface EndpointPort {
  readonly name?: string | null;
  readonly port?: number | null;
  readonly protocol?: string;
}

export interface EndpointSlice extends KubeObject {
  readonly addressType: string;
  readonly endpoints?: readonly SliceEndpoint[] | null;
  readonly ports?: readonly EndpointPort[] | null;
}

export interface Secret extends KubeObject {
  readonly type?: string;
  /** data holds base64 values, as the API sends them. */
  readonly data?: Readonly<Record<string, string>>;
}

/** SERVICE_NAME_LABEL links an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** keyOf is the store key of an object: `namespace/name`, or `name` for cluster-scoped kinds. */
export function keyOf(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

function meta(m: ObjectMeta, keepAnnotations: boolean, keepLabels: boolean): ObjectMeta {
  return {
    name: m.name,
    ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
    ...(m.uid === undefined ? {} : { uid: m.uid }),
    ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
    ...(m.generation === undefined ? {} : { generation: m.generation }),
    ...(m.creationTimestamp === undefined ? {} : { creationTimestamp: m.creationTimestamp }),
    ...(keepLabels && m.labels !== undefined ? { labels: m.labels } : {}),
    ...(keepAnnotations && m.annotations !== undefined ? { annotations: m.annotations } : {}),
  };
}

/** trimIngress keeps what translation and status need. */
export function trimIngress(o: Ingress): Ingress {
  return {
    metadata: meta(o.metadata, true, false),
    ...(o.spec === undefined ? {} : { spec: o.spec }),
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}

export function trimIngressClass(o: IngressClass): IngressClass {
  return { metadata: meta(o.metadata, true, false), ...(o.spec === undefined ? {} : { spec: o.spec }) };
}

export function trimService(o: Service): Service {
  const s = o.spec;
  return {
    metadata: meta(o.metadata, false, false),
    ...(s === undefined
      ? {}
      : {
          spec: {
            ...(s.type === undefined ? {} : { type: s.type }),
            ...(s.ports === undefined ? {} : { ports: s.ports }),
            ...(s.externalName === undefined ? {} : { externalName: s.externalName }),
            ...(s.sessionAffinity === undefined ? {} : { sessionAffinity: s.sessionAffinity }),
            ...(s.sessionAffinityConfig === undefined
              ? {}
              : { sessionAffinityConfig: s.sessionAffinityConfig }),
            ...(s.externalIPs === undefined ? {} : { externalIPs: s.externalIPs }),
          },
        }),
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}

export function trimEndpointSlice(o: EndpointSlice): EndpointSlice {
  return {
    metadata: meta(o.metadata, false, true),
    addressType: o.addressType,
    endpoints: (o.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      ...(e.conditions === undefined ? {} : { conditions: e.conditions }),
    })),
    ports: o.ports ?? [],
  };
}

/** HASH_PREFIXES start the htpasswd hashes ingress-nginx's auth-map Secrets hold (bcrypt, apr1, SHA-1). */
const HASH_PREFIXES = ['$2a$', '$2b$', '$2y$', '$apr1$', '{SHA}'];

/**
 * trimAuthSecret keeps of a Secret what an ingress-nginx Ingress may read from it: the TLS pair, a CA
 * (`ca.crt`, for proxy-ssl-secret), htpasswd users (`auth`), and the entries whose values are password
 * hashes (an auth-map Secret: one key per user). Nothing else of any Secret is kept in memory.
 */
export function trimAuthSecret(o: Secret): Secret {
  const trimmed = trimSecret(o);
  const data = o.data ?? {};
  const kept: Record<string, string> = { ...trimmed.data };
  for (const [key, value] of Object.entries(data)) {
    if (key === 'ca.crt' || key === 'auth') kept[key] = value;
    else if (value.length < 400) {
      const text = Buffer.from(value, 'base64').toString('latin1');
      if (HASH_PREFIXES.some((p) => text.startsWith(p))) kept[key] = value;
    }
  }
  return { ...trimmed, data: kept };
}

export function trimSecret(o: Secret): Secret {
  const data = o.data ?? {};
  return {
    metadata: meta(o.metadata, false, false),
    ...(o.type === undefined ? {} : { type: o.type }),
    data: {
      ...(data['tls.crt'] === undefined ? {} : { 'tls.crt': data['tls.crt'] }),
      ...(data['tls.key'] === undefined ? {} : { 'tls.key': data['tls.key'] }),
    },
  };
}
