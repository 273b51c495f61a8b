/**
 * The Gateway API object shapes Portico reads (`gateway.networking.k8s.io`), as the API reference defines
 * them (only the fields used), and the trims that keep the stores small.
 */
import type { KubeObject, ObjectMeta } from './kube-objects.ts';

/** GATEWAY_GROUP is the Gateway API's API group. */
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Condition is a `metav1.Condition`. */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
  readonly lastTransitionTime?: string;
}

export interface GatewayClass extends KubeObject {
  readonly spec?: { readonly controllerName?: string };
  readonly status?: { readonly conditions?: readonly Condition[] };
}

export interface SecretObjectReference {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

export interface RouteGroupKind {
  readonly group?: string;
  readonly kind: string;
}

export interface GatewayListener {
  readonly name: string;
  readonly hostname?: string;
  readonly port: number;
  readonly protocol: string;
  readonly tls?: {
    readonly mode?: string;
    readonly certificateRefs?: readonly SecretObjectReference[];
    /** options are implementation-specific settings; Portico reads `portico.dev/acme`. */
    readonly options?: Readonly<Record<string, string>>;
  };
  readonly allowedRoutes?: {
    readonly namespaces?: { readonly from?: string; readonly selector?: LabelSelector };
    readonly kinds?: readonly RouteGroupKind[];
  };
}

export interface ListenerStatus {
  readonly name: string;
  readonly supportedKinds: readonly RouteGroupKind[];
  readonly attachedRoutes: number;
  readonly conditions: readonly Condition[];
}

export interface GatewayStatusAddress {
  readonly type?: string;
  readonly value: string;
}

export interface Gateway extends KubeObject {
  readonly spec?: {
    readonly gatewayClassName?: string;
    readonly listeners?: readonly GatewayListener[];
  };
  readonly status?: {
    readonly addresses?: readonly GatewayStatusAddress[];
    readonly conditions?: readonly Condition[];
    readonly listeners?: readonly ListenerStatus[];
  };
}

export interface ParentReference {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export interface BackendRef {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly port?: number;
  readonly weight?: number;
  readonly filters?: readonly unknown[];
}

export interface HeaderValue {
  readonly name: string;
  readonly value: string;
}

export interface HeaderModifier {
  readonly set?: readonly HeaderValue[];
  readonly add?: readonly HeaderValue[];
  readonly remove?: readonly string[];
}

export interface PathModifier {
  readonly type: string;
  readonly replaceFullPath?: string;
  readonly replacePrefixMatch?: string;
}

export interface HttpRouteFilter {
  readonly type: string;
  readonly requestHeaderModifier?: HeaderModifier;
  readonly responseHeaderModifier?: HeaderModifier;
  readonly requestRedirect?: {
    readonly scheme?: string;
    readonly hostname?: string;
    readonly path?: PathModifier;
    readonly port?: number;
    readonly statusCode?: number;
  };
  readonly urlRewrite?: { readonly hostname?: string; readonly path?: PathModifier };
  readonly requestMirror?: {
    readonly backendRef: BackendRef;
    readonly percent?: number;
    readonly fraction?: { readonly numerator: number; readonly denominator?: number };
  };
}

export interface ValueMatch {
  readonly type?: string;
  readonly name: string;
  readonly value: string;
}

export interface HttpRouteMatch {
  readonly path?: { readonly type?: string; readonly value?: string };
  readonly headers?: readonly ValueMatch[];
  readonly queryParams?: readonly ValueMatch[];
  readonly method?: string;
}

export interface HttpRouteRule {
  readonly name?: string;
  readonly matches?: readonly HttpRouteMatch[];
  readonly filters?: readonly HttpRouteFilter[];
  readonly backendRefs?: readonly BackendRef[];
  readonly timeouts?: { readonly request?: string; readonly backendRequest?: string };
}

export interface GrpcRouteMatch {
  readonly method?: { readonly type?: string; readonly service?: string; readonly method?: string };
  readonly headers?: readonly ValueMatch[];
}

export interface GrpcRouteRule {
  readonly name?: string;
  readonly matches?: readonly GrpcRouteMatch[];
  readonly filters?: readonly HttpRouteFilter[];
  readonly backendRefs?: readonly BackendRef[];
}

export interface RouteParentStatus {
  readonly parentRef: ParentReference;
  readonly controllerName: string;
  readonly conditions: readonly Condition[];
}

export interface HttpRoute extends KubeObject {
  readonly spec?: {
    readonly parentRefs?: readonly ParentReference[];
    readonly hostnames?: readonly string[];
    readonly rules?: readonly HttpRouteRule[];
  };
  readonly status?: { readonly parents?: readonly RouteParentStatus[] };
}

export interface GrpcRoute extends KubeObject {
  readonly spec?: {
    readonly parentRefs?: readonly ParentReference[];
    readonly hostnames?: readonly string[];
    readonly rules?: readonly GrpcRouteRule[];
  };
  readonly status?: { readonly parents?: readonly RouteParentStatus[] };
}

export interface TlsRoute extends KubeObject {
  readonly spec?: {
    readonly parentRefs?: readonly ParentReference[];
    readonly hostnames?: readonly string[];
    readonly rules?: readonly { readonly name?: string; readonly backendRefs?: readonly BackendRef[] }[];
  };
  readonly status?: { readonly parents?: readonly RouteParentStatus[] };
}

export interface ReferenceGrant extends KubeObject {
  readonly spec?: {
    readonly from?: readonly { readonly group: string; readonly kind: string; readonly namespace: string }[];
    readonly to?: readonly { readonly group: string; readonly kind: string; readonly name?: string }[];
  };
}

export interface Namespace extends KubeObject {}

function meta(m: ObjectMeta, labels = false): ObjectMeta {
  return {
    name: m.name,
    ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
    ...(m.uid === undefined ? {} : { uid: m.uid }),
    ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
    ...(m.generation === undefined ? {} : { generation: m.generation }),
    ...(m.creationTimestamp === undefined ? {} : { creationTimestamp: m.creationTimestamp }),
    ...(labels && m.labels !== undefined ? { labels: m.labels } : {}),
  };
}

/** KEPT_ANNOTATIONS are the annotations read on Gateway API objects: those asking for ACME certificates. */
const KEPT_ANNOTATIONS = ['portico.dev/acme', 'cert-manager.io/cluster-issuer', 'cert-manager.io/issuer'];

/** trimGatewayObject keeps an object's identity, spec and status (the Gateway API kinds are small). */
export function trimGatewayObject<T extends KubeObject & { spec?: unknown; status?: unknown }>(o: T): T {
  const annotations = Object.entries(o.metadata.annotations ?? {}).filter(([k]) =>
    KEPT_ANNOTATIONS.includes(k),
  );
  return {
    metadata: {
      ...meta(o.metadata),
      ...(annotations.length === 0 ? {} : { annotations: Object.fromEntries(annotations) }),
    },
    ...(o.spec === undefined ? {} : { spec: o.spec }),
    ...(o.status === undefined ? {} : { status: o.status }),
  } as T;
}

/** trimNamespace keeps a Namespace's name and labels (for `allowedRoutes.namespaces.selector`). */
export function trimNamespace(o: Namespace): Namespace {
  return { metadata: meta(o.metadata, true) };
}

/** selects says whether a label selector matches a set of labels (an empty selector matches all). */
export function selects(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(value!))) return false;
    if (e.operator === 'NotIn' && has && values.includes(value!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
