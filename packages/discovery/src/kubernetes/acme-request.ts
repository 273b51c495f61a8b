import type { ObjectRef } from './kube-issue.ts';

/** AcmeRequest is one certificate an Ingress or Gateway listener asks for: stored in `namespace/secretName`, for `hosts`. */
export interface AcmeRequest {
  readonly namespace: string;
  readonly secretName: string;
  readonly hosts: readonly string[];
  /** origin names the object asking: `Ingress namespace/name`, `Gateway namespace/name listener https`. */
  readonly origin: string;
  /** object and field locate the request, for an Event when an order fails (`spec.tls[0]`). */
  readonly object: ObjectRef;
  readonly field: string;
  /** wildcards are the entry's `*.` hosts, left out: HTTP-01 and TLS-ALPN-01 cannot prove them. */
  readonly wildcards?: readonly string[];
  /** challenge is how the hosts are proven (`portico.dev/acme-challenge`); undefined: `acme.challenge`. */
  readonly challenge?: 'http-01' | 'tls-alpn-01';
}

/** wantsAcme says whether an object's annotations ask for ACME certificates: `portico.dev/acme`, or cert-manager's issuer annotations unless `portico.dev/acme` is `false`. */
export function wantsAcme(annotations: Readonly<Record<string, string>> | undefined): boolean {
  const a = annotations ?? {};
  return (
    a['portico.dev/acme'] === 'true' ||
    (a['portico.dev/acme'] !== 'false' &&
      (a['cert-manager.io/cluster-issuer'] !== undefined || a['cert-manager.io/issuer'] !== undefined))
  );
}
