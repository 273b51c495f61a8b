import { type AcmeRequest, wantsAcme } from './acme-request.ts';
import type { Gateway, GatewayListener } from './gateway-objects.ts';

/**
 * acmeListenerSecret returns the Secret (in the Gateway's namespace) an HTTPS listener's ACME certificate
 * is written to, or undefined when the listener does not ask for one. A listener asks with
 * `tls.options: {portico.dev/acme: "true"}`, or its Gateway does for all its HTTPS listeners (annotation
 * `portico.dev/acme: "true"` or cert-manager's issuer annotations); it needs a hostname without a
 * wildcard. The Secret is the listener's first `certificateRefs` entry when it names a core Secret of the
 * Gateway's namespace (as cert-manager's gateway-shim does), else `<gateway>-<listener>-acme`.
 */
export function acmeListenerSecret(gateway: Gateway, listener: GatewayListener): string | undefined {
  if (listener.protocol !== 'HTTPS' || (listener.tls?.mode ?? 'Terminate') !== 'Terminate') return undefined;
  const option = listener.tls?.options?.['portico.dev/acme'];
  if (option === 'false' || (option !== 'true' && !wantsAcme(gateway.metadata.annotations))) return undefined;
  if (listener.hostname === undefined || listener.hostname.startsWith('*')) return undefined;
  const first = listener.tls?.certificateRefs?.[0];
  if (first === undefined) return `${gateway.metadata.name}-${listener.name}-acme`.slice(0, 253);
  const local =
    (first.group ?? '') === '' &&
    (first.kind ?? 'Secret') === 'Secret' &&
    (first.namespace === undefined || first.namespace === gateway.metadata.namespace);
  return local ? first.name : undefined;
}

/** gatewayAcmeRequests lists the certificates the HTTPS listeners of `gateways` ask for (see acmeListenerSecret). */
export function gatewayAcmeRequests(gateways: Iterable<Gateway>): AcmeRequest[] {
  const requests: AcmeRequest[] = [];
  for (const gateway of gateways) {
    const namespace = gateway.metadata.namespace ?? 'default';
    const object = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      namespace,
      name: gateway.metadata.name,
      uid: gateway.metadata.uid,
      resourceVersion: gateway.metadata.resourceVersion,
    };
    for (const [index, listener] of (gateway.spec?.listeners ?? []).entries()) {
      const secretName = acmeListenerSecret(gateway, listener);
      if (secretName === undefined) continue;
      const challenge = listener.tls?.options?.['portico.dev/acme-challenge'];
      requests.push({
        namespace,
        secretName,
        hosts: [listener.hostname!],
        origin: `Gateway ${namespace}/${gateway.metadata.name} listener ${listener.name}`,
        object,
        field: `spec.listeners[${index}]`,
        ...(challenge === 'http-01' || challenge === 'tls-alpn-01' ? { challenge } : {}),
      });
    }
  }
  return requests;
}
