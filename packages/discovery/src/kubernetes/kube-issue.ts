/** KUBERNETES_ISSUE_CODES lists every code of a problem found in a Kubernetes object. */
export const KUBERNETES_ISSUE_CODES = {
  PORTICO_KUBE_ANNOTATION_UNKNOWN:
    'An Ingress has a `portico.dev/` annotation Portico does not know (a typo?); it has no effect.',
  PORTICO_KUBE_ANNOTATION_INVALID:
    'A `portico.dev/` annotation has a value Portico cannot use; the annotation is ignored, the rest of the Ingress serves.',
  PORTICO_KUBE_NGINX_UNSUPPORTED:
    'An Ingress served with ingress-nginx semantics (`--ingress-nginx-class`) has an `nginx.ingress.kubernetes.io/` annotation Portico does not honour (or only partly); it is served without it. docs/migrate-from-ingress-nginx.md says what each does.',
  PORTICO_KUBE_NGINX_FAIL_CLOSED:
    'An ingress-nginx Ingress has a security-relevant annotation Portico cannot honour (a snippet, ModSecurity, client-certificate auth, an auth it cannot serve, an invalid source range): the Ingress is not served, so nothing it protected becomes public. `--allow-unsafe-annotations` serves it without the annotation.',
  PORTICO_KUBE_SERVICE_MISSING:
    'An Ingress backend names a Service that does not exist (yet); its paths answer 503 until it does.',
  PORTICO_KUBE_SERVICE_PORT_MISSING:
    'An Ingress backend names a port (number or name) the Service does not have; its paths answer 503.',
  PORTICO_KUBE_EXTERNAL_NAME_DISABLED:
    'An Ingress backend is an ExternalName Service and `--allow-external-name` is off; its paths answer 503.',
  PORTICO_KUBE_BACKEND_UNSUPPORTED:
    'An Ingress backend is a `resource` backend or names no Service and port; the path is not served.',
  PORTICO_KUBE_SECRET_MISSING:
    'An Ingress `tls` entry names a Secret that does not exist, is not of type kubernetes.io/tls, or lacks tls.crt/tls.key; its hosts get the default certificate.',
  PORTICO_KUBE_GATEWAY_LISTENER_INVALID:
    "A Gateway listener cannot be served (a protocol Portico does not serve, no Portico listener on its port, a certificateRef that does not resolve, route kinds it cannot serve); the listener's status conditions say the same.",
  PORTICO_KUBE_GATEWAY_ROUTE_NOT_ACCEPTED:
    'An HTTPRoute or GRPCRoute is not accepted by a Gateway it names (no listener matches or allows it, no hostname intersects, a filter or match Portico does not serve); its parent status says why.',
  PORTICO_KUBE_GATEWAY_REF_UNRESOLVED:
    'A route backendRef does not resolve (an unknown kind, a missing Service or port, another namespace without a ReferenceGrant): its share of requests is answered 500, as the Gateway API says.',
  PORTICO_KUBE_ACME_ORDER_FAILED:
    'A certificate an Ingress or Gateway listener asks for from the ACME CA could not be ordered (a challenge the CA could not validate, the CA unreachable or limiting, a Secret Portico does not manage); the current certificate, or the default one, keeps serving and the order is retried with backoff.',
  PORTICO_KUBE_INVALID_OBJECT:
    'Part of an object cannot become config (a bad path, host or field); that object is left out, every other one serves.',
} as const;

export type KubernetesIssueCode = keyof typeof KUBERNETES_ISSUE_CODES;

/** ObjectRef names the Kubernetes object an issue is about, as an Event's `involvedObject` does. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
}

/** KubeIssue is a problem found in one object: it names the object, the field, and what to do. */
export interface KubeIssue {
  /** code is a `KUBERNETES_ISSUE_CODES` code, or a router code for a bad path or host. */
  readonly code: string;
  readonly object: ObjectRef;
  /** field locates the problem in the object: `metadata.annotations["portico.dev/retries"]`. */
  readonly field: string;
  readonly message: string;
}
