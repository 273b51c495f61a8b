import type { PorticoConfigInput } from '@portico/config';
import { mergeCanaries } from './canary-merge.ts';
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
import { NGINX_PREFIX, readNginxAnnotations } from './nginx-annotations.ts';
import { nginxFindingIssues, nginxSettings } from './nginx-ingress.ts';
import {
  type Assembly,
  type AssemblyChanges,
  type AssemblyEntry,
  assemble,
  patchAssembly,
} from './translation-assembly.ts';
import type {
  CanaryPart,
  CertificatePart,
  IngressPart,
  ServicePart,
  TranslationCache,
} from './translation-cache.ts';

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
  /**
   * slicesOf returns a Service's (`namespace/name`) EndpointSlices from an index kept up to date as they
   * change (`EndpointSliceIndex`); without it, each translation indexes `endpointSlices` once.
   */
  readonly slicesOf?: (service: string) => readonly EndpointSlice[];
}

/** slicesByService indexes EndpointSlices by the Service (`namespace/name`) they belong to. */
export function slicesByService(slices: Iterable<EndpointSlice>): Map<string, EndpointSlice[]> {
  const index = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const owner = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (owner === undefined) continue;
    const key = `${slice.metadata.namespace}/${owner}`;
    const list = index.get(key);
    if (list === undefined) index.set(key, [slice]);
    else list.push(slice);
  }
  return index;
}

/** TranslateOptions say which Ingresses are Portico's and what is allowed. */
export interface TranslateOptions {
  /** controller is the IngressClass `spec.controller` Portico serves: `portico.dev/ingress-controller`. */
  readonly controller: string;
  /** ingressClass is the class name accepted in the legacy `kubernetes.io/ingress.class` annotation. */
  readonly ingressClass: string;
  /** allowExternalName lets backends be ExternalName Services (off by default: a way out of the cluster). */
  readonly allowExternalName: boolean;
  /** httpsAvailable: an https listener exists, so hosts with TLS may redirect plain HTTP to it. */
  readonly httpsAvailable: boolean;
  /** sslRedirect: hosts with TLS redirect plain HTTP to HTTPS unless an Ingress says otherwise (off by default). */
  readonly sslRedirect?: boolean;
  /**
   * nginxClass is the class (IngressClass name, or the legacy annotation's value) of the Ingresses
   * served with ingress-nginx's semantics and annotations (`--ingress-nginx-class`); none by default.
   */
  readonly nginxClass?: string;
  /**
   * allowUnsafeAnnotations serves Ingresses with security-relevant ingress-nginx annotations Portico
   * cannot honour (snippets, ModSecurity, client-certificate auth...), without them: off by default.
   */
  readonly allowUnsafeAnnotations?: boolean;
  /** exclude leaves these Ingresses (`namespace/name`) out: their config was found invalid. */
  readonly exclude?: ReadonlySet<string>;
  /** cache reuses the services of the previous translation whose inputs did not change. */
  readonly cache?: TranslationCache;
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

/** isPorticoIngress says whether Portico serves an Ingress: of its class, or of the ingress-nginx class it took over. */
export function isPorticoIngress(
  ingress: Ingress,
  classes: ObjectStore<IngressClass>,
  options: Pick<TranslateOptions, 'controller' | 'ingressClass' | 'nginxClass'>,
): boolean {
  return ingressFlavor(ingress, classes, options) !== undefined;
}

/**
 * ingressFlavor says how Portico serves an Ingress: `portico` (its class: plain Ingress semantics and
 * `portico.dev/` annotations), `nginx` (the class named by `nginxClass`: ingress-nginx's semantics and
 * annotations), or not at all (undefined).
 */
export function ingressFlavor(
  ingress: Ingress,
  classes: ObjectStore<IngressClass>,
  options: Pick<TranslateOptions, 'controller' | 'ingressClass' | 'nginxClass'>,
): 'portico' | 'nginx' | undefined {
  const nginx = options.nginxClass;
  const className = ingress.spec?.ingressClassName;
  if (className !== undefined && className !== '') {
    if (nginx !== undefined && className === nginx) return 'nginx';
    return classes.get(className)?.spec?.controller === options.controller ? 'portico' : undefined;
  }
  const legacy = ingress.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined) {
    if (nginx !== undefined && legacy === nginx) return 'nginx';
    return legacy === options.ingressClass ? 'portico' : undefined;
  }
  for (const c of classes.values()) {
    if (c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] !== 'true') continue;
    if (c.spec?.controller === options.controller) return 'portico';
    if (nginx !== undefined && c.metadata.name === nginx) return 'nginx';
  }
  return undefined;
}

/** KEYS remembers each Ingress object's `namespace/name` (a watch event replaces the object). */
const KEYS = new WeakMap<Ingress, string>();

function ingressKey(ingress: Ingress): string {
  let key = KEYS.get(ingress);
  if (key === undefined) {
    key = keyOf(ingress);
    KEYS.set(ingress, key);
  }
  return key;
}

/** oldestFirst orders Ingresses by creation time, then by `namespace/name`. */
function oldestFirst(ingresses: Ingress[]): Ingress[] {
  const keyed = ingresses.map((ingress) => ({
    ingress,
    time: ingress.metadata.creationTimestamp ?? '',
    key: ingressKey(ingress),
  }));
  keyed.sort((a, b) =>
    a.time !== b.time ? (a.time < b.time ? -1 : 1) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
  );
  return keyed.map((k) => k.ingress);
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
 * host and path the older one wins, as in ingress-nginx. With a `cache`, an Ingress whose inputs did not
 * change contributes the very objects it did last time.
 */
export function translateCluster(state: ClusterState, options: TranslateOptions): Translation {
  // Built on first need: when every Ingress comes from the cache, the slices are not even looked at.
  let index: Map<string, EndpointSlice[]> | undefined;
  const slicesOf =
    state.slicesOf ??
    ((service: string): readonly EndpointSlice[] => {
      index ??= slicesByService(state.endpointSlices.values());
      return index.get(service) ?? [];
    });
  const cache = options.cache;
  const context = `${cache?.epoch ?? 0}|${options.allowExternalName}|${options.httpsAvailable}|${options.sslRedirect === true}|${options.nginxClass ?? ''}|${options.allowUnsafeAnnotations === true}`;
  const entryOf = (ingress: Ingress): AssemblyEntry => {
    const key = ingressKey(ingress);
    if (options.exclude?.has(key)) return { key, ingress, part: undefined };
    let part = cache?.ingress(key, ingress, context);
    if (part === undefined) {
      part = translateIngress(ingress, state, slicesOf, options);
      if (cache !== undefined) part = cache.setIngress(key, ingress, context, part);
    }
    return { key, ingress, part };
  };
  const dirty = cache?.beginRound(context);
  const last = cache?.assembly;
  if (dirty !== undefined && dirty !== 'all' && last !== undefined && (options.exclude?.size ?? 0) === 0) {
    const changes = changesOf(dirty, last, state, options, entryOf);
    const patched = changes === undefined ? undefined : patchAssembly(last, changes);
    if (patched !== undefined) {
      cache!.endRound(patched, false);
      return mergeCanaries(patched);
    }
  }
  const ingresses = oldestFirst(
    [...state.ingresses.values()].filter((ingress) =>
      isPorticoIngress(ingress, state.ingressClasses, options),
    ),
  );
  const assembly = assemble(ingresses.map(entryOf), context);
  cache?.endRound(assembly, true);
  return mergeCanaries(assembly);
}

/**
 * changesOf finds what the Ingresses in `dirty` (changed, or reading something that changed) do to the
 * last assembly: new parts in place, or new Ingresses newer than all others. Undefined when the order of
 * the Ingresses changes otherwise (one left, or one came back with an older creation time).
 */
function changesOf(
  dirty: ReadonlySet<string>,
  last: Assembly,
  state: ClusterState,
  options: TranslateOptions,
  entryOf: (ingress: Ingress) => AssemblyEntry,
): AssemblyChanges | undefined {
  const replaced: AssemblyEntry[] = [];
  const added: Ingress[] = [];
  for (const key of dirty) {
    const ingress = state.ingresses.get(key);
    const ours = ingress !== undefined && isPorticoIngress(ingress, state.ingressClasses, options);
    const position = last.positions.get(key);
    if (position === undefined) {
      if (ours) added.push(ingress);
      continue;
    }
    if (!ours) return undefined;
    const before = last.entries[position]!.ingress;
    if (before.metadata.creationTimestamp !== ingress.metadata.creationTimestamp) return undefined;
    replaced.push(entryOf(ingress));
  }
  if (added.length === 0) return { replaced, appended: [] };
  const newest = last.entries.at(-1)?.ingress;
  const appended = oldestFirst(added);
  if (newest !== undefined && oldestFirst([appended[0]!, newest])[0] !== newest) return undefined;
  return { replaced, appended: appended.map(entryOf) };
}

/** translateIngress makes one Ingress's part: its routes, the services of its backends, its certificates. */
function translateIngress(
  ingress: Ingress,
  state: ClusterState,
  slicesOf: (service: string) => readonly EndpointSlice[],
  options: TranslateOptions,
): IngressPart {
  const cache = options.cache;
  const namespace = ingress.metadata.namespace ?? 'default';
  const ref = refOf('Ingress', 'networking.k8s.io/v1', ingress);
  const issues: KubeIssue[] = [];
  const issue = (code: KubernetesIssueCode | string, field: string, message: string) =>
    issues.push({ code, object: ref, field, message });
  const dependencies = new Map<string, number>();
  const depend = (key: string) => dependencies.set(key, cache?.generation(key) ?? 0);
  const services: { name: string; part: ServicePart }[] = [];
  const certificates: CertificatePart[] = [];
  const routes: RouteInput[] = [];
  const nginx =
    ingressFlavor(ingress, state.ingressClasses, options) === 'nginx'
      ? readNginxAnnotations(ingress.metadata.annotations)
      : undefined;
  let settings: IngressSettings;
  if (nginx === undefined) {
    settings = readIngressAnnotations(ingress.metadata.annotations);
    for (const i of settings.issues) issue(i.code, i.field, i.message);
  } else {
    const served = nginxFindingIssues(nginx.findings, options.allowUnsafeAnnotations === true, issue);
    const canary = ingress.metadata.annotations?.[`${NGINX_PREFIX}canary`] === 'true';
    if (!served || (canary && nginx.settings.canary === undefined))
      return {
        routes,
        routesJson: '[]',
        services,
        certificates,
        defaultService: undefined,
        issues,
        dependencies,
      };
    settings = nginxSettings(nginx.settings, namespace, state, depend, issue);
  }
  const annotated = Object.keys(settings.service).length > 0;
  const settingsKey =
    annotated || settings.affinityOff ? JSON.stringify(settings.service) + settings.affinityOff : '';

  /** backendService returns the name of the Portico service for a backend, resolving it once. */
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
    if (services.some((s) => s.name === name)) return name;
    const serviceKey = `service:${namespace}/${svc.name}`;
    depend(serviceKey);
    const signature = `${cache?.epoch ?? 0}|${cache?.generation(serviceKey) ?? 0}|${options.allowExternalName}|${settingsKey}`;
    let part = cache?.service(name, signature);
    if (part === undefined) {
      const found: { code: KubernetesIssueCode; message: string }[] = [];
      const service = state.services.get(`${namespace}/${svc.name}`);
      const slices = slicesOf(`${namespace}/${svc.name}`);
      const endpoints = resolveEndpoints(state, slices, namespace, svc.name, port, options, (code, message) =>
        found.push({ code, message }),
      );
      part = { signature, service: buildService(name, endpoints, service, settings), issues: found };
      cache?.setService(name, part);
    }
    for (const i of part.issues) issue(i.code, `${field}.service`, i.message);
    services.push({ name, part });
    return name;
  };

  // TLS first: which hosts have a certificate decides the default HTTPS redirect.
  const tlsHosts = new Set<string>();
  (ingress.spec?.tls ?? []).forEach((tls, t) => {
    for (const host of tls.hosts ?? []) tlsHosts.add(host);
    if (tls.secretName === undefined || tls.secretName === '') return;
    depend(`secret:${namespace}/${tls.secretName}`);
    const pem = tlsPem(state.secrets.get(`${namespace}/${tls.secretName}`));
    if (typeof pem === 'string') {
      issue(
        'PORTICO_KUBE_SECRET_MISSING',
        `spec.tls[${t}].secretName`,
        `Secret ${namespace}/${tls.secretName} ${pem}; these hosts get the default certificate`,
      );
      return;
    }
    const name = `${namespace}/${tls.secretName}`;
    const hosts = tls.hosts?.length ? [...tls.hosts] : undefined;
    const same = certificates.find((c) => c.name === name);
    if (same === undefined) certificates.push({ name, ...pem, hosts });
    else
      certificates[certificates.indexOf(same)] = {
        ...same,
        hosts:
          same.hosts === undefined || hosts === undefined
            ? undefined
            : [...new Set([...same.hosts, ...hosts])],
      };
  });

  const errors = nginx?.settings;
  if (errors?.customErrors !== undefined && errors.errorBackend !== undefined) {
    // custom-http-errors: the default-backend Service renders them, asked at its endpoints.
    const port = state.services.get(`${namespace}/${errors.errorBackend}`)?.spec?.ports?.[0];
    const renderer = backendService(
      {
        service: {
          name: errors.errorBackend,
          port: port?.name ? { name: port.name } : { number: port?.port ?? 80 },
        },
      },
      `metadata.annotations["${NGINX_PREFIX}default-backend"]`,
    );
    if (renderer !== undefined)
      settings = {
        ...settings,
        route: { ...settings.route, errorPages: [{ statuses: errors.customErrors, service: renderer }] },
      };
  }
  const canary = nginx?.settings.canary;
  if (canary !== undefined) {
    // A canary serves nothing of its own: its paths join its main Ingress's (mergeCanaries).
    const canaries: CanaryPart[] = [];
    (ingress.spec?.rules ?? []).forEach((rule, r) => {
      (rule.http?.paths ?? []).forEach((p, i) => {
        const service = backendService(p.backend, `spec.rules[${r}].http.paths[${i}].backend`);
        if (service === undefined || rule.host === undefined || rule.host === '') return;
        const type = p.pathType ?? 'ImplementationSpecific';
        canaries.push({ host: rule.host, path: p.path || '/', type, service, settings: canary });
      });
    });
    return {
      routes,
      routesJson: '[]',
      services,
      certificates,
      defaultService: undefined,
      issues,
      dependencies,
      canaries,
    };
  }
  const defaultService =
    ingress.spec?.defaultBackend === undefined
      ? undefined
      : backendService(ingress.spec.defaultBackend, 'spec.defaultBackend');
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
      if (!path.startsWith('/')) {
        issue(
          'PORTICO_KUBE_INVALID_OBJECT',
          `${field}.path`,
          `path ${JSON.stringify(path.slice(0, 100))} must start with "/"; this path is left out`,
        );
        return;
      }
      paths.push({
        path,
        type,
        ...(settings.useRegex && type === 'ImplementationSpecific' ? { regex: true } : {}),
        service,
      });
    });
    if (paths.length === 0) return;
    const host = rule.host === undefined || rule.host === '' ? undefined : rule.host;
    const redirect =
      nginx?.settings.forceSslRedirect === true ||
      (settings.sslRedirect ??
        ((nginx !== undefined || options.sslRedirect === true) && hostCovered(tlsHosts, host)));
    const appRoot = nginx?.settings.appRoot;
    if (appRoot !== undefined)
      paths.unshift({ path: '/', type: 'Exact', filters: [{ redirect: { path: appRoot, status: 302 } }] });
    const hosts = host === undefined ? [undefined] : [host, ...(nginx?.settings.aliases ?? [])];
    for (const h of hosts)
      routes.push({
        name: ingressKey(ingress),
        ...(h === undefined ? {} : { host: h }),
        paths,
        ...settings.route,
        ...(redirect && options.httpsAvailable ? { httpsRedirect: true } : {}),
      });
    if (nginx?.settings.wwwRedirect === true && host !== undefined && !host.startsWith('*.')) {
      // ingress-nginx's from-to-www-redirect: the other spelling of the host redirects to this one.
      const other = host.startsWith('www.') ? host.slice(4) : `www.${host}`;
      routes.push({
        name: `${ingressKey(ingress)}/www`,
        host: other,
        paths: [{ path: '/', type: 'Prefix', filters: [{ redirect: { host, status: 308 } }] }],
      });
    }
  });
  return {
    routes,
    routesJson: JSON.stringify(routes),
    services,
    certificates,
    defaultService,
    issues,
    dependencies,
  };
}

/** tlsPem decodes a TLS Secret's certificate and key, or says what is wrong with it. */
export function tlsPem(secret: Secret | undefined): { cert: string; key: string } | string {
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
export function resolveEndpoints(
  state: ClusterState,
  slices: readonly EndpointSlice[],
  namespace: string,
  serviceName: string,
  port: number | string,
  options: Pick<TranslateOptions, 'allowExternalName'>,
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
export function buildService(
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
