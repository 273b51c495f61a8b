import type { PorticoConfigInput } from '@portico/config';
import { type IngressSettings, readIngressAnnotations } from './ingress-annotations.ts';
import type { KubeIssue, KubernetesIssueCode, ObjectRef } from './kube-issue.ts';
import {
  type EndpointSlice,
  type Ingress,
  type IngressBackend,
  type IngressClass,
  keyOf,
  SERVICE_NAME_LABEL,
  type Secret,
  type Service,
} from './kube-objects.ts';

type RouteInput = NonNullable<PorticoConfigInput['routes']>[number];
type ServiceInput = NonNullable<PorticoConfigInput['services']>[number];
type CertificateInput = NonNullable<PorticoConfigInput['certificates']>[number];
type EndpointInput = NonNullable<ServiceInput['endpoints']>[number];

/** DEFAULT_CONTROLLER is the `spec.controller` of IngressClasses that Portico serves. */
export const DEFAULT_CONTROLLER = 'portico.dev/ingress-controller';
/** DEFAULT_INGRESS_CLASS is the class name Portico answers to in the legacy annotation. */
export const DEFAULT_INGRESS_CLASS = 'portico';
/** DEFAULT_CLIENT_IP_TIMEOUT_SECONDS is Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds`. */
export const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10_800;

const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

/** ObjectStore is a read-only collection of watched objects by `namespace/name` (or `name`). */
export interface ObjectStore<T> {
  get(key: string): T | undefined;
  values(): Iterable<T>;
}

/** ClusterState is the watched objects, by `namespace/name` (IngressClasses by name). */
export interface ClusterState {
  readonly ingresses: ObjectStore<Ingress>;
  readonly ingressClasses: ObjectStore<IngressClass>;
  readonly services: ObjectStore<Service>;
  readonly endpointSlices: ObjectStore<EndpointSlice>;
  readonly secrets: ObjectStore<Secret>;
}

/** TranslateOptions say which Ingresses are Portico's and what is allowed. */
export interface TranslateOptions {
  /** controller is the IngressClass `spec.controller` Portico serves: `portico.dev/ingress-controller`. */
  readonly controller: string;
  /** ingressClass is the class name accepted in the legacy `kubernetes.io/ingress.class` annotation. */
  readonly ingressClass: string;
  /** allowExternalName lets backends be ExternalName Services (off by default: a way out of the cluster). */
  readonly allowExternalName: boolean;
  /** httpsAvailable: an https listener exists, so hosts with TLS redirect plain HTTP to it. */
  readonly httpsAvailable: boolean;
  /** exclude leaves these Ingresses (`namespace/name`) out: their config was found invalid. */
  readonly exclude?: ReadonlySet<string>;
  /** cache reuses the services of the previous translation whose inputs did not change. */
  readonly cache?: TranslationCache;
}

interface CachedService {
  readonly signature: string;
  readonly service: ServiceInput;
  readonly issues: readonly { code: KubernetesIssueCode; message: string }[];
}

/**
 * TranslationCache keeps each backend's service from one translation to the next while its inputs (the
 * Service, its EndpointSlices, the annotations) are unchanged, by resourceVersion. Unchanged services are
 * then the same objects, which spares resolving their endpoints again and lets the proxy keep their
 * compiled balancers. Entries not used by a translation are dropped.
 */
export class TranslationCache {
  #entries = new Map<string, CachedService>();
  #next = new Map<string, CachedService>();

  /** get returns the entry for `name` if its signature matches, and keeps it for the next round. */
  get(name: string, signature: string): CachedService | undefined {
    const entry = this.#next.get(name) ?? this.#entries.get(name);
    if (entry === undefined || entry.signature !== signature) return undefined;
    this.#next.set(name, entry);
    return entry;
  }

  set(name: string, entry: CachedService): void {
    this.#next.set(name, entry);
  }

  /** endRound forgets the entries this round did not use. */
  endRound(): void {
    this.#entries = this.#next;
    this.#next = new Map();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** Translation is the config Kubernetes objects make, with where each part came from. */
export interface Translation {
  readonly routes: RouteInput[];
  readonly services: ServiceInput[];
  readonly certificates: CertificateInput[];
  defaultService: string | undefined;
  /** routeOrigins[i] is the Ingress (`namespace/name`) that made routes[i]; likewise for the others. */
  readonly routeOrigins: string[];
  readonly serviceOrigins: string[][];
  readonly certificateOrigins: string[][];
  /** ingresses are the Ingresses of Portico's class, oldest first. */
  readonly ingresses: Ingress[];
  readonly issues: KubeIssue[];
}

/** refOf names an object for an issue or an Event. */
export function refOf(kind: string, apiVersion: string, object: Ingress | Service | Secret): ObjectRef {
  const m = object.metadata;
  return {
    apiVersion,
    kind,
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
  };
}

/** isPorticoIngress says whether an Ingress is of Portico's class. */
export function isPorticoIngress(
  ingress: Ingress,
  classes: ObjectStore<IngressClass>,
  options: Pick<TranslateOptions, 'controller' | 'ingressClass'>,
): boolean {
  const className = ingress.spec?.ingressClassName;
  if (className !== undefined && className !== '')
    return classes.get(className)?.spec?.controller === options.controller;
  const legacy = ingress.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined) return legacy === options.ingressClass;
  for (const c of classes.values())
    if (
      c.spec?.controller === options.controller &&
      c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true'
    )
      return true;
  return false;
}

function byAge(a: Ingress, b: Ingress): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = keyOf(a);
  const kb = keyOf(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** hostCovered says whether a TLS host list covers `host` (exactly, or by a one-label wildcard). */
function hostCovered(tlsHosts: ReadonlySet<string>, host: string | undefined): boolean {
  if (host === undefined) return false;
  if (tlsHosts.has(host)) return true;
  const dot = host.indexOf('.');
  return dot !== -1 && tlsHosts.has(`*${host.slice(dot)}`);
}

/**
 * translateCluster turns the Ingresses of Portico's class, and the Services, EndpointSlices and Secrets
 * they name, into routes, services and certificates. Each problem becomes an issue on its object and
 * affects only what that object serves. Ingresses are taken oldest first, so when two claim the same
 * host and path the older one wins, as in ingress-nginx.
 */
export function translateCluster(state: ClusterState, options: TranslateOptions): Translation {
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of state.endpointSlices.values()) {
    const owner = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (owner === undefined) continue;
    const key = `${slice.metadata.namespace}/${owner}`;
    const list = slicesByService.get(key);
    if (list === undefined) slicesByService.set(key, [slice]);
    else list.push(slice);
  }
  const out: Translation = {
    routes: [],
    services: [],
    certificates: [],
    defaultService: undefined,
    routeOrigins: [],
    serviceOrigins: [],
    certificateOrigins: [],
    ingresses: [],
    issues: [],
  };
  const serviceIndex = new Map<string, number>();
  const certificateIndex = new Map<string, number>();
  const ingresses = [...state.ingresses.values()]
    .filter((ingress) => isPorticoIngress(ingress, state.ingressClasses, options))
    .sort(byAge);
  for (const ingress of ingresses) {
    out.ingresses.push(ingress);
    const origin = keyOf(ingress);
    if (options.exclude?.has(origin)) continue;
    const namespace = ingress.metadata.namespace ?? 'default';
    const ref = refOf('Ingress', 'networking.k8s.io/v1', ingress);
    const issue = (code: KubernetesIssueCode | string, field: string, message: string) =>
      out.issues.push({ code, object: ref, field, message });
    const settings = readIngressAnnotations(ingress.metadata.annotations);
    for (const i of settings.issues) issue(i.code, i.field, i.message);
    const annotated = Object.keys(settings.service).length > 0;

    /** backendService returns the name of the Portico service for a backend, adding it once. */
    const backendService = (backend: IngressBackend | undefined, field: string): string | undefined => {
      const svc = backend?.service;
      const port = svc?.port?.number ?? svc?.port?.name;
      if (svc === undefined || svc.name === undefined || port === undefined) {
        issue(
          'PORTICO_KUBE_BACKEND_UNSUPPORTED',
          field,
          backend?.resource === undefined
            ? `${field} names no service and port`
            : `${field} is a resource backend (${backend.resource.kind} ${backend.resource.name}); only Service backends are served`,
        );
        return undefined;
      }
      const name = annotated
        ? `${namespace}/${ingress.metadata.name}/${svc.name}:${port}`
        : `${namespace}/${svc.name}:${port}`;
      const existing = serviceIndex.get(name);
      if (existing !== undefined) {
        const origins = out.serviceOrigins[existing]!;
        if (!origins.includes(origin)) origins.push(origin);
        return name;
      }
      const service = state.services.get(`${namespace}/${svc.name}`);
      const slices = slicesByService.get(`${namespace}/${svc.name}`) ?? [];
      const signature = [
        service?.metadata.resourceVersion ?? '-',
        ...slices.map((s) => s.metadata.resourceVersion ?? '?'),
        options.allowExternalName,
        annotated || settings.affinityOff ? JSON.stringify(settings.service) + settings.affinityOff : '',
      ].join('|');
      let entry = options.cache?.get(name, signature);
      if (entry === undefined) {
        const issues: { code: KubernetesIssueCode; message: string }[] = [];
        const endpoints = resolveEndpoints(
          state,
          slices,
          namespace,
          svc.name,
          port,
          options,
          (code, message) => issues.push({ code, message }),
        );
        entry = { signature, service: buildService(name, endpoints, service, settings), issues };
        options.cache?.set(name, entry);
      }
      for (const i of entry.issues) issue(i.code, `${field}.service`, i.message);
      serviceIndex.set(name, out.services.length);
      out.services.push(entry.service);
      out.serviceOrigins.push([origin]);
      return name;
    };

    // TLS first: which hosts have a certificate decides the default HTTPS redirect.
    const tlsHosts = new Set<string>();
    (ingress.spec?.tls ?? []).forEach((tls, t) => {
      for (const host of tls.hosts ?? []) tlsHosts.add(host);
      if (tls.secretName === undefined || tls.secretName === '') return;
      const field = `spec.tls[${t}].secretName`;
      const secret = state.secrets.get(`${namespace}/${tls.secretName}`);
      const pem = tlsPem(secret);
      if (typeof pem === 'string') {
        issue(
          'PORTICO_KUBE_SECRET_MISSING',
          field,
          `Secret ${namespace}/${tls.secretName} ${pem}; these hosts get the default certificate`,
        );
        return;
      }
      const name = `${namespace}/${tls.secretName}`;
      const existing = certificateIndex.get(name);
      if (existing === undefined) {
        certificateIndex.set(name, out.certificates.length);
        out.certificates.push({ name, ...pem, ...(tls.hosts?.length ? { hosts: [...tls.hosts] } : {}) });
        out.certificateOrigins.push([origin]);
        return;
      }
      const certificate = out.certificates[existing]!;
      if (certificate.hosts !== undefined) {
        if (tls.hosts?.length) certificate.hosts = [...new Set([...certificate.hosts, ...tls.hosts])];
        else delete certificate.hosts;
      }
      const origins = out.certificateOrigins[existing]!;
      if (!origins.includes(origin)) origins.push(origin);
    });

    const defaultBackend = ingress.spec?.defaultBackend;
    if (defaultBackend !== undefined) {
      const name = backendService(defaultBackend, 'spec.defaultBackend');
      if (name !== undefined && out.defaultService === undefined) out.defaultService = name;
    }
    (ingress.spec?.rules ?? []).forEach((rule, r) => {
      const paths: NonNullable<RouteInput['paths']> = [];
      (rule.http?.paths ?? []).forEach((p, i) => {
        const field = `spec.rules[${r}].http.paths[${i}]`;
        const service = backendService(p.backend, `${field}.backend`);
        if (service === undefined) return;
        const type = p.pathType ?? 'ImplementationSpecific';
        if (type !== 'Exact' && type !== 'Prefix' && type !== 'ImplementationSpecific') {
          issue(
            'PORTICO_KUBE_INVALID_OBJECT',
            `${field}.pathType`,
            `pathType "${type}" is not Exact, Prefix or ImplementationSpecific`,
          );
          return;
        }
        const path = p.path === undefined || p.path === '' ? '/' : p.path;
        paths.push({
          path,
          type,
          ...(settings.useRegex && type === 'ImplementationSpecific' ? { regex: true } : {}),
          service,
        });
      });
      if (paths.length === 0) return;
      const host = rule.host === undefined || rule.host === '' ? undefined : rule.host;
      const redirect = settings.sslRedirect ?? (options.httpsAvailable && hostCovered(tlsHosts, host));
      out.routes.push({
        name: origin,
        ...(host === undefined ? {} : { host }),
        paths,
        ...settings.route,
        ...(redirect && options.httpsAvailable ? { httpsRedirect: true } : {}),
      });
      out.routeOrigins.push(origin);
    });
  }
  options.cache?.endRound();
  return out;
}

/** tlsPem decodes a TLS Secret's certificate and key, or says what is wrong with it. */
function tlsPem(secret: Secret | undefined): { cert: string; key: string } | string {
  if (secret === undefined) return 'does not exist';
  if (secret.type !== 'kubernetes.io/tls')
    return `is of type ${secret.type ?? 'Opaque'}, not kubernetes.io/tls`;
  const crt = secret.data?.['tls.crt'];
  const key = secret.data?.['tls.key'];
  if (crt === undefined || crt === '' || key === undefined || key === '') return 'lacks tls.crt or tls.key';
  return {
    cert: Buffer.from(crt, 'base64').toString('utf8'),
    key: Buffer.from(key, 'base64').toString('utf8'),
  };
}

/** resolveEndpoints finds a backend's pod endpoints: Service port -> its name -> EndpointSlice port. */
function resolveEndpoints(
  state: ClusterState,
  slices: readonly EndpointSlice[],
  namespace: string,
  serviceName: string,
  port: number | string,
  options: TranslateOptions,
  issue: (code: KubernetesIssueCode, message: string) => void,
): EndpointInput[] {
  const service = state.services.get(`${namespace}/${serviceName}`);
  if (service === undefined) {
    issue(
      'PORTICO_KUBE_SERVICE_MISSING',
      `Service ${namespace}/${serviceName} does not exist; 503 until it does`,
    );
    return [];
  }
  const servicePort = service.spec?.ports?.find((p) =>
    typeof port === 'number' ? p.port === port : p.name === port,
  );
  if (service.spec?.type === 'ExternalName') {
    if (!options.allowExternalName) {
      issue(
        'PORTICO_KUBE_EXTERNAL_NAME_DISABLED',
        `Service ${namespace}/${serviceName} is ExternalName (${service.spec.externalName ?? '?'}); run with --allow-external-name to proxy to it`,
      );
      return [];
    }
    const target =
      typeof servicePort?.targetPort === 'number' ? servicePort.targetPort : (servicePort?.port ?? port);
    const address = service.spec.externalName;
    if (address === undefined || typeof target !== 'number') {
      issue(
        'PORTICO_KUBE_SERVICE_PORT_MISSING',
        `ExternalName Service ${namespace}/${serviceName} needs a numeric port`,
      );
      return [];
    }
    return [{ address, port: target }];
  }
  if (servicePort === undefined) {
    issue(
      'PORTICO_KUBE_SERVICE_PORT_MISSING',
      `Service ${namespace}/${serviceName} has no port ${typeof port === 'number' ? port : `named "${port}"`} (ports: ${(service.spec?.ports ?? []).map((p) => p.name || p.port).join(', ') || 'none'})`,
    );
    return [];
  }
  const portName = servicePort.name ?? '';
  const byAddress = new Map<string, EndpointInput>();
  for (const slice of slices) {
    const slicePort = slice.ports?.find((p) => (p.name ?? '') === portName)?.port;
    if (slicePort === undefined || slicePort === null) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const address = endpoint.addresses?.[0];
      if (address === undefined) continue;
      const c = endpoint.conditions ?? {};
      // The API's rules for absent conditions: ready and serving unknown -> true, terminating -> false.
      const ready = c.ready ?? true;
      const next: EndpointInput = {
        address,
        port: slicePort,
        ready,
        serving: c.serving ?? ready,
        terminating: c.terminating ?? false,
      };
      const key = `${address}|${slicePort}`;
      const seen = byAddress.get(key);
      // An endpoint may sit in two slices while it moves: keep its readiest entry.
      if (seen === undefined || (!seen.ready && ready)) byAddress.set(key, next);
    }
  }
  return [...byAddress.values()];
}

/** buildService makes a Portico service: Service affinity first, the Ingress's annotations over it. */
function buildService(
  name: string,
  endpoints: EndpointInput[],
  service: Service | undefined,
  settings: IngressSettings,
): ServiceInput {
  const out: ServiceInput = { name, endpoints };
  if (service?.spec?.sessionAffinity === 'ClientIP')
    out.affinity = {
      type: 'client-ip',
      ttlSeconds:
        service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_CLIENT_IP_TIMEOUT_SECONDS,
    };
  Object.assign(out, settings.service);
  if (settings.affinityOff) delete out.affinity;
  return out;
}
