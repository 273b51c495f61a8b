import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { PorticoConfigInput } from '@portico/config';
import { acmeListenerSecret } from './gateway-acme.ts';
import {
  type BackendRef,
  type Condition,
  GATEWAY_GROUP,
  type Gateway,
  type GatewayClass,
  type GatewayListener,
  type GrpcRoute,
  type GrpcRouteMatch,
  type HeaderModifier,
  type HttpRoute,
  type HttpRouteFilter,
  type HttpRouteMatch,
  type ListenerStatus,
  type Namespace,
  type ParentReference,
  type ReferenceGrant,
  type RouteGroupKind,
  type RouteParentStatus,
  selects,
  type TlsRoute,
  type ValueMatch,
} from './gateway-objects.ts';
import type { KubeIssue, ObjectRef } from './kube-issue.ts';
import { type EndpointSlice, type KubeObject, keyOf, type Secret } from './kube-objects.ts';
import {
  buildService,
  type ClusterState,
  type ObjectStore,
  resolveEndpoints,
  slicesByService,
  tlsPem,
} from './translate.ts';

type RouteInput = NonNullable<PorticoConfigInput['routes']>[number];
type PathInput = NonNullable<RouteInput['paths']>[number];
type FilterInput = NonNullable<PathInput['filters']>[number];
type BackendInput = NonNullable<PathInput['backends']>[number];
type ServiceInput = NonNullable<PorticoConfigInput['services']>[number];
type CertificateInput = NonNullable<PorticoConfigInput['certificates']>[number];

/** DEFAULT_GATEWAY_CONTROLLER is the GatewayClass `spec.controllerName` Portico serves. */
export const DEFAULT_GATEWAY_CONTROLLER = 'portico.dev/gateway-controller';

/** GatewayState is the watched Gateway API objects (GatewayClasses and Namespaces by name). */
export interface GatewayState {
  readonly gatewayClasses: ObjectStore<GatewayClass>;
  readonly gateways: ObjectStore<Gateway>;
  readonly httpRoutes: ObjectStore<HttpRoute>;
  readonly grpcRoutes: ObjectStore<GrpcRoute>;
  readonly tlsRoutes: ObjectStore<TlsRoute>;
  readonly referenceGrants: ObjectStore<ReferenceGrant>;
  readonly namespaces: ObjectStore<Namespace>;
}

/** PorticoListener is one of Portico's listeners as a Gateway listener finds it: by protocol and port. */
export interface PorticoListener {
  readonly name: string;
  /** port is the listener's `gatewayPort`, or its `port`. */
  readonly port: number;
  readonly protocol: string;
}

export interface GatewayTranslateOptions {
  /** controllerName is the GatewayClass controller served: `portico.dev/gateway-controller`. */
  readonly controllerName: string;
  readonly listeners: readonly PorticoListener[];
  readonly allowExternalName: boolean;
  /** exclude leaves these routes (`HTTPRoute:namespace/name`) out: their config was found invalid. */
  readonly exclude?: ReadonlySet<string>;
}

/** RouteStatusPlan is the status Portico wants on one route: its parents' entries for this controller. */
export interface RouteStatusPlan {
  readonly plural: 'httproutes' | 'grpcroutes' | 'tlsroutes';
  readonly object: HttpRoute | GrpcRoute | TlsRoute;
  readonly parents: RouteParentStatus[];
}

/** GatewayStatusPlan is the status Portico wants on the objects it serves, without transition times. */
export interface GatewayStatusPlan {
  readonly classes: { object: GatewayClass; conditions: Condition[] }[];
  readonly gateways: {
    object: Gateway;
    conditions: Condition[];
    listeners: ListenerStatus[];
  }[];
  readonly routes: RouteStatusPlan[];
}

/** GatewayTranslation is the config the Gateway API objects make, where each part came from, and status. */
export interface GatewayTranslation {
  readonly routes: RouteInput[];
  /** routeOrigins[i] is the route object (`HTTPRoute:namespace/name`) that made routes[i]. */
  readonly routeOrigins: string[];
  readonly services: ServiceInput[];
  readonly serviceOrigins: string[][];
  readonly certificates: CertificateInput[];
  readonly certificateOrigins: string[][];
  /** sni are TLSRoutes' passthrough entries for Portico's `tls-passthrough` listeners, by listener name. */
  readonly sni: Map<string, { host: string; service: string }[]>;
  /** sniOrigins are the TLSRoutes that made each listener's entries, in the same order. */
  readonly sniOrigins: Map<string, string[]>;
  /** refs names the objects behind origin keys, for issues. */
  readonly refs: Map<string, ObjectRef>;
  readonly issues: KubeIssue[];
  readonly status: GatewayStatusPlan;
}

const GATEWAY_API = `${GATEWAY_GROUP}/v1`;
const ROUTE_KINDS = {
  HTTP: ['HTTPRoute', 'GRPCRoute'],
  HTTPS: ['HTTPRoute', 'GRPCRoute'],
  TLS: ['TLSRoute'],
} as const;
/** PROTOCOLS maps a Gateway listener protocol to the Portico listener protocol that serves it. */
const PROTOCOLS: Record<string, string> = { HTTP: 'http', HTTPS: 'https', TLS: 'tls-passthrough' };
/** HOSTNAME is a Gateway API hostname: a DNS name, optionally with a leading `*.` label. */
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

function gatewayRef(kind: string, object: KubeObject, apiVersion = GATEWAY_API): ObjectRef {
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

function condition(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  generation: number | undefined,
): Condition {
  return {
    type,
    status: ok ? 'True' : 'False',
    reason,
    message,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
}

/** oldestFirst orders objects by creation time, then `namespace/name`, as the Gateway API's tie-break. */
function oldestFirst<T extends KubeObject>(objects: Iterable<T>): T[] {
  return [...objects].sort((a, b) => {
    const ta = a.metadata.creationTimestamp ?? '';
    const tb = b.metadata.creationTimestamp ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/**
 * parseDuration reads a Gateway API duration (`10s`, `500ms`, `1h30m`: up to four parts of h, m, s or
 * ms) in milliseconds, or undefined when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]{1,5})(ms|h|m|s)/g)) {
    ms += Number(n) * (unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1_000 : 1);
  }
  return ms;
}

/**
 * intersectHostnames is the hostname a route serves on a listener: the more specific of the two when
 * one covers the other (`*.example.com` covers `a.example.com` and `*.a.example.com`), null when
 * they are disjoint, undefined when neither has one (any host).
 */
export function intersectHostnames(
  route: string | undefined,
  listener: string | undefined,
): string | undefined | null {
  if (listener === undefined) return route;
  if (route === undefined) return listener;
  const covers = (wild: string, name: string) => wild.startsWith('*.') && name.endsWith(wild.slice(1));
  if (route === listener) return route;
  if (covers(listener, route)) return route;
  if (covers(route, listener)) return listener;
  return null;
}

/** routerHost turns a Gateway API hostname into a Portico route host (its `*` covers any depth: `**.`). */
function routerHost(hostname: string | undefined): string | undefined {
  return hostname?.startsWith('*.') ? `*${hostname}` : hostname;
}

/** certificateCheck remembers, per Secret object, whether its pair parses (checked once per version). */
const certificateCheck = new WeakMap<Secret, string | undefined>();

/** pemProblem says what is wrong with a TLS Secret's pair for Portico, or undefined when it parses. */
function pemProblem(
  secret: Secret | undefined,
  pem: { cert: string; key: string } | string,
): string | undefined {
  if (typeof pem === 'string') return pem;
  if (secret !== undefined && certificateCheck.has(secret)) return certificateCheck.get(secret);
  let problem: string | undefined;
  try {
    new X509Certificate(pem.cert);
    createPrivateKey(pem.key);
  } catch (error) {
    problem = `holds a certificate or key that does not parse (${(error as Error).message})`;
  }
  if (secret !== undefined) certificateCheck.set(secret, problem);
  return problem;
}

/** ListenerModel is a Gateway listener as translation sees it: what serves it and what it accepts. */
interface ListenerModel {
  readonly spec: GatewayListener;
  readonly gateway: Gateway;
  /** porticoListeners are the names of Portico's listeners serving it (empty: not programmed). */
  readonly porticoListeners: string[];
  readonly supportedKinds: RouteGroupKind[];
  /** serves: routes may attach (accepted, with its certificates). */
  readonly serves: boolean;
  attachedRoutes: number;
  readonly conditions: Condition[];
}

/** referenceAllowed says whether a ReferenceGrant in `toNamespace` lets `from` refer to `to`. */
function referenceAllowed(
  grants: ObjectStore<ReferenceGrant>,
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  if (from.namespace === to.namespace) return true;
  for (const grant of grants.values()) {
    if (grant.metadata.namespace !== to.namespace) continue;
    const fromOk = (grant.spec?.from ?? []).some(
      (f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace,
    );
    if (!fromOk) continue;
    const toOk = (grant.spec?.to ?? []).some(
      (t) =>
        t.group === to.group &&
        t.kind === to.kind &&
        (t.name === undefined || t.name === '' || t.name === to.name),
    );
    if (toOk) return true;
  }
  return false;
}

/**
 * translateGateways turns the Gateways of Portico's GatewayClasses and the HTTPRoutes and GRPCRoutes
 * attached to them into routes (kept to the Portico listeners that serve each Gateway listener, on the
 * intersection of the hostnames), services and certificates, and says what status each object should
 * have. A route or listener that cannot be served is reported in its status and as an issue, and
 * leaves everything else serving.
 */
export function translateGateways(
  state: GatewayState,
  cluster: ClusterState,
  options: GatewayTranslateOptions,
): GatewayTranslation {
  const out: GatewayTranslation = {
    routes: [],
    routeOrigins: [],
    services: [],
    serviceOrigins: [],
    certificates: [],
    certificateOrigins: [],
    sni: new Map(),
    sniOrigins: new Map(),
    refs: new Map(),
    issues: [],
    status: { classes: [], gateways: [], routes: [] },
  };
  const serviceIndex = new Map<string, number>();
  const certificateIndex = new Map<string, number>();

  // GatewayClasses: those naming Portico's controller are accepted.
  const classes = new Set<string>();
  for (const c of state.gatewayClasses.values()) {
    if (c.spec?.controllerName !== options.controllerName) continue;
    classes.add(c.metadata.name);
    out.status.classes.push({
      object: c,
      conditions: [condition('Accepted', true, 'Accepted', 'Served by Portico', c.metadata.generation)],
    });
  }

  // Gateways and their listeners.
  const listenersOf = new Map<string, ListenerModel[]>();
  for (const gateway of oldestFirst(state.gateways.values())) {
    if (!classes.has(gateway.spec?.gatewayClassName ?? '')) continue;
    const key = `Gateway:${keyOf(gateway)}`;
    out.refs.set(key, gatewayRef('Gateway', gateway));
    const models = (gateway.spec?.listeners ?? []).map((listener, i) =>
      listenerModel(gateway, listener, i, state, cluster, options, out, key, certificateIndex),
    );
    markConflicts(models);
    listenersOf.set(keyOf(gateway), models);
  }

  // Routes, oldest first (the Gateway API's tie-break between equal matches).
  const routes: { kind: RouteKind; object: HttpRoute | GrpcRoute | TlsRoute }[] = [
    ...oldestFirst(state.httpRoutes.values()).map((object) => ({ kind: 'HTTPRoute' as const, object })),
    ...oldestFirst(state.grpcRoutes.values()).map((object) => ({ kind: 'GRPCRoute' as const, object })),
    ...oldestFirst(state.tlsRoutes.values()).map((object) => ({ kind: 'TLSRoute' as const, object })),
  ];
  routes.sort((a, b) => {
    const ta = a.object.metadata.creationTimestamp ?? '';
    const tb = b.object.metadata.creationTimestamp ?? '';
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  });
  for (const { kind, object } of routes)
    translateRoute(kind, object, state, cluster, options, listenersOf, out, serviceIndex);

  // Gateway status, now that routes are counted.
  for (const gateway of oldestFirst(state.gateways.values())) {
    const models = listenersOf.get(keyOf(gateway));
    if (models === undefined) continue;
    const generation = gateway.metadata.generation;
    const valid = models.filter((m) => m.serves).length;
    const programmed = models.some((m) => m.porticoListeners.length > 0 && m.serves);
    const allValid = valid === models.length;
    out.status.gateways.push({
      object: gateway,
      conditions: [
        condition(
          'Accepted',
          valid > 0,
          allValid ? 'Accepted' : 'ListenersNotValid',
          allValid
            ? 'Served by Portico'
            : `${models.length - valid} of ${models.length} listeners cannot be served (see their conditions)`,
          generation,
        ),
        condition(
          'Programmed',
          programmed,
          programmed ? 'Programmed' : 'Invalid',
          programmed ? 'Listening' : 'No listener of this Gateway is served by a Portico listener',
          generation,
        ),
      ],
      listeners: models.map((m) => ({
        name: m.spec.name,
        supportedKinds: m.supportedKinds,
        attachedRoutes: m.attachedRoutes,
        conditions: m.conditions,
      })),
    });
  }
  return out;
}

/** listenerModel checks one Gateway listener: what serves it, the kinds it accepts, its certificates. */
function listenerModel(
  gateway: Gateway,
  listener: GatewayListener,
  index: number,
  state: GatewayState,
  cluster: ClusterState,
  options: GatewayTranslateOptions,
  out: GatewayTranslation,
  origin: string,
  certificateIndex: Map<string, number>,
): ListenerModel {
  const generation = gateway.metadata.generation;
  const namespace = gateway.metadata.namespace ?? 'default';
  const field = `spec.listeners[${index}]`;
  const problem = (message: string) =>
    out.issues.push({
      code: 'PORTICO_KUBE_GATEWAY_LISTENER_INVALID',
      object: gatewayRef('Gateway', gateway),
      field,
      message: `listener "${listener.name}": ${message}`,
    });
  const protocol = PROTOCOLS[listener.protocol];
  const conditions: Condition[] = [];
  const make = (accepted: boolean, reason: string, message: string, refs?: [boolean, string, string]) => {
    const [resolved, refReason, refMessage] = refs ?? [true, 'ResolvedRefs', 'All references resolved'];
    const programmed = accepted && resolved && porticoListeners.length > 0;
    conditions.push(
      condition('Accepted', accepted, reason, message, generation),
      condition(
        'Programmed',
        programmed,
        programmed ? 'Programmed' : 'Invalid',
        programmed ? `Served by Portico listener ${porticoListeners.join(', ')}` : message,
        generation,
      ),
      condition('ResolvedRefs', resolved, refReason, refMessage, generation),
      condition('Conflicted', false, 'NoConflicts', 'No conflicts', generation),
    );
    return programmed;
  };
  const porticoListeners =
    protocol === undefined
      ? []
      : options.listeners
          .filter((l) => l.protocol === protocol && l.port === listener.port)
          .map((l) => l.name);
  const model = (accepted: boolean, supportedKinds: RouteGroupKind[]): ListenerModel => ({
    spec: listener,
    gateway,
    porticoListeners,
    supportedKinds,
    serves: accepted,
    attachedRoutes: 0,
    conditions,
  });
  if (protocol === undefined) {
    const message = `protocol ${listener.protocol} is not served (HTTP, HTTPS and TLS passthrough are)`;
    problem(message);
    make(false, 'UnsupportedProtocol', message);
    return model(false, []);
  }
  if (listener.protocol === 'TLS' && listener.tls?.mode !== 'Passthrough') {
    const message =
      'TLS listeners are served in Passthrough mode only (terminate TLS with an HTTPS listener)';
    problem(message);
    make(false, 'UnsupportedValue', message);
    return model(false, []);
  }
  if (listener.protocol === 'HTTPS' && (listener.tls?.mode ?? 'Terminate') !== 'Terminate') {
    const message = 'HTTPS listeners terminate TLS (tls.mode Passthrough is for TLS listeners)';
    problem(message);
    make(false, 'UnsupportedValue', message);
    return model(false, []);
  }
  // Route kinds.
  const allowed = ROUTE_KINDS[listener.protocol as keyof typeof ROUTE_KINDS];
  let supportedKinds: RouteGroupKind[] = allowed.map((kind) => ({ group: GATEWAY_GROUP, kind }));
  let refs: [boolean, string, string] | undefined;
  const kinds = listener.allowedRoutes?.kinds;
  if (kinds !== undefined && kinds.length > 0) {
    supportedKinds = kinds
      .filter(
        (k) =>
          (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && (allowed as readonly string[]).includes(k.kind),
      )
      .map((k) => ({ group: GATEWAY_GROUP, kind: k.kind }));
    if (supportedKinds.length < kinds.length) {
      const message = `allowedRoutes.kinds names kinds Portico does not serve here (it serves ${allowed.join(', ')})`;
      problem(message);
      refs = [false, 'InvalidRouteKinds', message];
    }
  }
  // Certificates.
  if (listener.protocol === 'HTTPS') {
    const acmeSecret = acmeListenerSecret(gateway, listener);
    const refsOf =
      acmeSecret !== undefined && (listener.tls?.certificateRefs ?? []).length === 0
        ? [{ name: acmeSecret }]
        : (listener.tls?.certificateRefs ?? []);
    let bad: [string, string] | undefined;
    if (refsOf.length === 0)
      bad = [
        'InvalidCertificateRef',
        'an HTTPS listener needs tls.certificateRefs, or tls.options portico.dev/acme: "true" and a hostname',
      ];
    refsOf.forEach((ref, r) => {
      const group = ref.group ?? '';
      const kind = ref.kind ?? 'Secret';
      const secretNamespace = ref.namespace ?? namespace;
      const where = `tls.certificateRefs[${r}]`;
      if (group !== '' || kind !== 'Secret') {
        bad ??= [
          'InvalidCertificateRef',
          `${where} is a ${group === '' ? '' : `${group}/`}${kind}; only core Secrets are read`,
        ];
        return;
      }
      if (
        !referenceAllowed(
          state.referenceGrants,
          { group: GATEWAY_GROUP, kind: 'Gateway', namespace },
          { group: '', kind: 'Secret', namespace: secretNamespace, name: ref.name },
        )
      ) {
        bad ??= [
          'RefNotPermitted',
          `${where}: Secret ${secretNamespace}/${ref.name} is in another namespace and no ReferenceGrant there permits it`,
        ];
        return;
      }
      const secret = cluster.secrets.get(`${secretNamespace}/${ref.name}`);
      if (secret === undefined && ref.name === acmeSecret) {
        bad ??= [
          'InvalidCertificateRef',
          `waiting for the ACME certificate (Secret ${secretNamespace}/${ref.name})`,
        ];
        return;
      }
      const pem = tlsPem(secret);
      const wrong = pemProblem(secret, pem);
      if (wrong !== undefined || typeof pem === 'string') {
        bad ??= ['InvalidCertificateRef', `${where}: Secret ${secretNamespace}/${ref.name} ${wrong}`];
        return;
      }
      const name = `gateway:${secretNamespace}/${ref.name}`;
      const hosts = listener.hostname === undefined ? undefined : [listener.hostname];
      const at = certificateIndex.get(name);
      if (at === undefined) {
        certificateIndex.set(name, out.certificates.length);
        out.certificates.push({ name, ...pem, ...(hosts === undefined ? {} : { hosts }) });
        out.certificateOrigins.push([origin]);
      } else {
        const same = out.certificates[at]!;
        const merged =
          same.hosts === undefined || hosts === undefined
            ? undefined
            : [...new Set([...same.hosts, ...hosts])];
        const { hosts: _dropped, ...rest } = same;
        out.certificates[at] = { ...rest, ...(merged === undefined ? {} : { hosts: merged }) };
        if (!out.certificateOrigins[at]!.includes(origin)) out.certificateOrigins[at]!.push(origin);
      }
    });
    if (bad !== undefined) {
      problem(bad[1]);
      refs = [false, bad[0], bad[1]];
    }
  }
  if (porticoListeners.length === 0) {
    const message = `Portico has no ${protocol} listener for port ${listener.port} (set a listener's port or gatewayPort to it)`;
    problem(message);
    make(false, 'PortUnavailable', message, refs);
    return model(false, supportedKinds);
  }
  make(true, 'Accepted', 'Listener accepted', refs);
  return model(refs === undefined || refs[1] === 'InvalidRouteKinds', supportedKinds);
}

/** markConflicts flags listeners of one Gateway with the same port and hostname (the later ones). */
function markConflicts(models: ListenerModel[]): void {
  const seen = new Map<string, string>();
  for (const m of models) {
    const key = `${m.spec.port}|${m.spec.hostname ?? ''}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, m.spec.protocol);
      continue;
    }
    const reason = first === m.spec.protocol ? 'HostnameConflict' : 'ProtocolConflict';
    const at = m.conditions.findIndex((c) => c.type === 'Conflicted');
    const generation = m.gateway.metadata.generation;
    m.conditions[at] = condition(
      'Conflicted',
      true,
      reason,
      'Another listener has this port and hostname',
      generation,
    );
    const programmed = m.conditions.findIndex((c) => c.type === 'Programmed');
    m.conditions[programmed] = condition('Programmed', false, 'Invalid', 'Conflicted', generation);
    m.porticoListeners.length = 0;
  }
}

/** Attachment is where a route's parentRef lands: the Portico listeners and hosts it serves on. */
interface Attachment {
  readonly hosts: Map<string | undefined, Set<string>>;
}

type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute';

/** translateRoute attaches one route to its parents and makes its routes (or SNI entries). */
function translateRoute(
  kind: RouteKind,
  route: HttpRoute | GrpcRoute | TlsRoute,
  state: GatewayState,
  cluster: ClusterState,
  options: GatewayTranslateOptions,
  listenersOf: Map<string, ListenerModel[]>,
  out: GatewayTranslation,
  serviceIndex: Map<string, number>,
): void {
  const namespace = route.metadata.namespace ?? 'default';
  const generation = route.metadata.generation;
  const origin = `${kind}:${keyOf(route)}`;
  const ref = gatewayRef(kind, route);
  out.refs.set(origin, ref);
  const parents: RouteParentStatus[] = [];
  const hosts = new Map<string | undefined, Set<string>>();
  const routeHostnames = route.spec?.hostnames ?? [];
  const resolution =
    kind === 'TLSRoute'
      ? tlsBackend(route as TlsRoute, state, cluster, options, out, serviceIndex, origin)
      : routeBackends(
          kind,
          route as HttpRoute | GrpcRoute,
          state,
          cluster,
          options,
          out,
          serviceIndex,
          origin,
        );
  for (const parent of route.spec?.parentRefs ?? []) {
    const group = parent.group ?? GATEWAY_GROUP;
    const parentKind = parent.kind ?? 'Gateway';
    if (group !== GATEWAY_GROUP || parentKind !== 'Gateway') continue;
    const gatewayNamespace = parent.namespace ?? namespace;
    const models = listenersOf.get(`${gatewayNamespace}/${parent.name}`);
    if (models === undefined) continue; // not a Gateway of Portico's: another controller answers
    const parentRef: ParentReference = {
      group,
      kind: parentKind,
      ...(parent.namespace === undefined ? {} : { namespace: parent.namespace }),
      name: parent.name,
      ...(parent.sectionName === undefined ? {} : { sectionName: parent.sectionName }),
      ...(parent.port === undefined ? {} : { port: parent.port }),
    };
    const attach = attachment(kind, route, parent, models, state, routeHostnames);
    const accepted =
      typeof attach === 'string'
        ? undefined
        : resolution.unsupported === undefined && !options.exclude?.has(origin)
          ? attach
          : undefined;
    const [reason, message] =
      typeof attach === 'string'
        ? attach.split('|', 2)
        : resolution.unsupported !== undefined
          ? ['UnsupportedValue', resolution.unsupported]
          : options.exclude?.has(origin)
            ? ['UnsupportedValue', 'Portico could not use this route (its Events say why)']
            : ['Accepted', 'Accepted'];
    if (accepted === undefined)
      out.issues.push({
        code: 'PORTICO_KUBE_GATEWAY_ROUTE_NOT_ACCEPTED',
        object: ref,
        field: 'spec.parentRefs',
        message: `not accepted by Gateway ${gatewayNamespace}/${parent.name}${parent.sectionName === undefined ? '' : ` listener ${parent.sectionName}`}: ${reason}: ${message}`,
      });
    else
      for (const [host, names] of accepted.hosts) {
        const set = hosts.get(host) ?? new Set<string>();
        for (const n of names) set.add(n);
        hosts.set(host, set);
      }
    parents.push({
      parentRef,
      controllerName: options.controllerName,
      conditions: [
        condition('Accepted', accepted !== undefined, reason!, message!, generation),
        condition(
          'ResolvedRefs',
          resolution.refProblem === undefined,
          resolution.refProblem?.[0] ?? 'ResolvedRefs',
          resolution.refProblem?.[1] ?? 'All references resolved',
          generation,
        ),
      ],
    });
  }
  if (parents.length > 0)
    out.status.routes.push({
      plural: `${kind.toLowerCase()}s` as RouteStatusPlan['plural'],
      object: route,
      parents,
    });
  if (kind === 'TLSRoute') {
    if (resolution.passthrough === undefined) return;
    for (const [host, listeners] of hosts) {
      if (host === undefined) continue;
      for (const listener of listeners) {
        const entries = out.sni.get(listener) ?? [];
        const origins = out.sniOrigins.get(listener) ?? [];
        entries.push({ host: routerHost(host)!, service: resolution.passthrough });
        origins.push(origin);
        out.sni.set(listener, entries);
        out.sniOrigins.set(listener, origins);
      }
    }
    return;
  }
  if (hosts.size === 0 || resolution.paths.length === 0) return;
  for (const [host, listeners] of hosts) {
    const routerName = routerHost(host);
    out.routes.push({
      name: origin,
      ...(routerName === undefined ? {} : { host: routerName }),
      listeners: [...listeners].sort(),
      paths: resolution.paths,
    });
    out.routeOrigins.push(origin);
  }
}

/**
 * attachment finds the listeners a parentRef attaches a route to and the hosts it serves on them, or
 * says why it cannot attach (`Reason|message`).
 */
function attachment(
  kind: string,
  route: KubeObject,
  parent: ParentReference,
  models: readonly ListenerModel[],
  state: GatewayState,
  routeHostnames: readonly string[],
): Attachment | string {
  const candidates = models.filter(
    (m) =>
      (parent.sectionName === undefined || m.spec.name === parent.sectionName) &&
      (parent.port === undefined || m.spec.port === parent.port),
  );
  if (candidates.length === 0)
    return `NoMatchingParent|No listener of the Gateway matches sectionName ${parent.sectionName ?? '(any)'} and port ${parent.port ?? '(any)'}`;
  const routeNamespace = route.metadata.namespace ?? 'default';
  const allowed = candidates.filter((m) => {
    if (!m.supportedKinds.some((k) => k.kind === kind)) return false;
    const from = m.spec.allowedRoutes?.namespaces?.from ?? 'Same';
    if (from === 'All') return true;
    if (from === 'Same') return routeNamespace === (m.gateway.metadata.namespace ?? 'default');
    if (from === 'Selector') {
      const ns = state.namespaces.get(routeNamespace);
      return (
        ns !== undefined && selects(m.spec.allowedRoutes?.namespaces?.selector, ns.metadata.labels ?? {})
      );
    }
    return false;
  });
  if (allowed.length === 0)
    return `NotAllowedByListeners|No listener the parentRef names allows ${kind}s from namespace ${routeNamespace}`;
  const hosts = new Map<string | undefined, Set<string>>();
  for (const m of allowed) {
    if (!m.serves || m.porticoListeners.length === 0) continue;
    const names = routeHostnames.length === 0 ? [undefined] : routeHostnames;
    let attached = false;
    for (const name of names) {
      const host = intersectHostnames(name, m.spec.hostname);
      if (host === null) continue;
      attached = true;
      const set = hosts.get(host) ?? new Set<string>();
      for (const l of m.porticoListeners) set.add(l);
      hosts.set(host, set);
    }
    if (attached) m.attachedRoutes++;
  }
  if (hosts.size === 0) {
    if (allowed.some((m) => m.serves && m.porticoListeners.length > 0))
      return `NoMatchingListenerHostname|No hostname of the route intersects a hostname of the listeners (${allowed.map((m) => m.spec.hostname ?? '*').join(', ')})`;
    return 'NotAllowedByListeners|The listeners the parentRef names are not served (see the Gateway status)';
  }
  return { hosts };
}

/** RouteResolution is what a route's rules become: paths, and the first reference or value problem. */
interface RouteResolution {
  readonly paths: PathInput[];
  /** passthrough is a TLSRoute's service. */
  passthrough?: string | undefined;
  /** refProblem is the ResolvedRefs reason and message when a backend did not resolve. */
  refProblem: [string, string] | undefined;
  /** unsupported says why the route cannot be accepted at all (a filter Portico lacks). */
  unsupported: string | undefined;
}

/**
 * tlsBackend resolves a TLSRoute: one backend (its connections are spliced whole, so a split by weight
 * is not offered), and a hostname for every SNI entry.
 */
function tlsBackend(
  route: TlsRoute,
  state: GatewayState,
  cluster: ClusterState,
  options: GatewayTranslateOptions,
  out: GatewayTranslation,
  serviceIndex: Map<string, number>,
  origin: string,
): RouteResolution {
  const resolution: RouteResolution = { paths: [], refProblem: undefined, unsupported: undefined };
  const refs = (route.spec?.rules ?? [])
    .flatMap((rule) => rule.backendRefs ?? [])
    .filter((b) => (b.weight ?? 1) > 0);
  if (refs.length !== 1) {
    resolution.unsupported = `a TLSRoute is served with exactly one backendRef of non-zero weight (it has ${refs.length})`;
    return resolution;
  }
  for (const name of route.spec?.hostnames ?? [])
    if (typeof name !== 'string' || name.length > 253 || !HOSTNAME.test(name)) {
      resolution.unsupported = `hostname ${JSON.stringify(name).slice(0, 80)} is not a DNS name`;
      return resolution;
    }
  const backend = backendResolver(
    'TLSRoute',
    route,
    state,
    cluster,
    options,
    out,
    serviceIndex,
    origin,
    resolution,
  );
  resolution.passthrough = backend(refs[0]!, 'spec.rules[0].backendRefs[0]');
  return resolution;
}

/** backendResolver returns a function resolving backendRefs of a route to Portico service names. */
function backendResolver(
  kind: RouteKind,
  route: HttpRoute | GrpcRoute | TlsRoute,
  state: GatewayState,
  cluster: ClusterState,
  options: GatewayTranslateOptions,
  out: GatewayTranslation,
  serviceIndex: Map<string, number>,
  origin: string,
  resolution: RouteResolution,
): (b: BackendRef, field: string) => string | undefined {
  const namespace = route.metadata.namespace ?? 'default';
  const ref = gatewayRef(kind, route);
  let slices: Map<string, EndpointSlice[]> | undefined;
  const slicesOf =
    cluster.slicesOf ??
    ((service: string) => {
      slices ??= slicesByService(cluster.endpointSlices.values());
      return slices.get(service) ?? [];
    });
  // The resolver: one backendRef to a Portico service name, or undefined (its share answered 500).
  return (b: BackendRef, field: string): string | undefined => {
    const group = b.group ?? '';
    const backendKind = b.kind ?? 'Service';
    const backendNamespace = b.namespace ?? namespace;
    const refuse = (reason: string, message: string) => {
      resolution.refProblem ??= [reason, `${field}: ${message}`];
      out.issues.push({
        code: 'PORTICO_KUBE_GATEWAY_REF_UNRESOLVED',
        object: ref,
        field,
        message: `${message}; its share is answered 500`,
      });
      return undefined;
    };
    if (group !== '' || backendKind !== 'Service')
      return refuse(
        'InvalidKind',
        `${group === '' ? '' : `${group}/`}${backendKind} is not a backend kind Portico serves (core Service)`,
      );
    if (
      !referenceAllowed(
        state.referenceGrants,
        { group: GATEWAY_GROUP, kind, namespace },
        { group: '', kind: 'Service', namespace: backendNamespace, name: b.name },
      )
    )
      return refuse(
        'RefNotPermitted',
        `Service ${backendNamespace}/${b.name} is in another namespace and no ReferenceGrant there permits it`,
      );
    const service = cluster.services.get(`${backendNamespace}/${b.name}`);
    if (service === undefined)
      return refuse('BackendNotFound', `Service ${backendNamespace}/${b.name} does not exist`);
    if (b.port === undefined) return refuse('BackendNotFound', `a Service backendRef needs a port`);
    const port = service.spec?.ports?.find((p) => p.port === b.port) as { appProtocol?: string } | undefined;
    if (port === undefined)
      return refuse('BackendNotFound', `Service ${backendNamespace}/${b.name} has no port ${b.port}`);
    const h2c = kind === 'GRPCRoute' || port.appProtocol === 'kubernetes.io/h2c';
    const name = `${h2c ? 'gateway-h2c' : 'gateway'}:${backendNamespace}/${b.name}:${b.port}`;
    const at = serviceIndex.get(name);
    if (at !== undefined) {
      if (!out.serviceOrigins[at]!.includes(origin)) out.serviceOrigins[at]!.push(origin);
      return name;
    }
    const endpoints = resolveEndpoints(
      cluster,
      slicesOf(`${backendNamespace}/${b.name}`),
      backendNamespace,
      b.name,
      b.port,
      options,
      (code, message) => out.issues.push({ code, object: ref, field, message }),
    );
    const built = buildService(name, endpoints, service, {
      route: {},
      service: h2c ? { protocol: 'http2' } : {},
      useRegex: false,
      sslRedirect: undefined,
      affinityOff: false,
      issues: [],
    });
    serviceIndex.set(name, out.services.length);
    out.services.push(built);
    out.serviceOrigins.push([origin]);
    return name;
  };
}

/** routeBackends makes a route's paths: its matches with their filters, timeouts and weighted backends. */
function routeBackends(
  kind: 'HTTPRoute' | 'GRPCRoute',
  route: HttpRoute | GrpcRoute,
  state: GatewayState,
  cluster: ClusterState,
  options: GatewayTranslateOptions,
  out: GatewayTranslation,
  serviceIndex: Map<string, number>,
  origin: string,
): RouteResolution {
  const resolution: RouteResolution = { paths: [], refProblem: undefined, unsupported: undefined };
  const backend = backendResolver(
    kind,
    route,
    state,
    cluster,
    options,
    out,
    serviceIndex,
    origin,
    resolution,
  );
  const rules = route.spec?.rules ?? [];
  rules.forEach((rule, r) => {
    const field = `spec.rules[${r}]`;
    const filters: FilterInput[] = [];
    let redirects = false;
    (rule.filters ?? []).forEach((f, k) => {
      const made = pathFilter(f, kind, (b) => backend(b, `${field}.filters[${k}].requestMirror.backendRef`));
      if (typeof made === 'string') {
        resolution.unsupported ??= `${field}.filters[${k}]: ${made}`;
        return;
      }
      if (made === undefined) return;
      if ('redirect' in made) redirects = true;
      filters.push(made);
    });
    const timeouts = 'timeouts' in rule ? rule.timeouts : undefined;
    if (timeouts !== undefined) {
      const requestMs = timeouts.request === undefined ? undefined : parseDuration(timeouts.request);
      const backendMs =
        timeouts.backendRequest === undefined ? undefined : parseDuration(timeouts.backendRequest);
      if (
        (timeouts.request !== undefined && requestMs === undefined) ||
        (timeouts.backendRequest !== undefined && backendMs === undefined)
      )
        resolution.unsupported ??= `${field}.timeouts: not a Gateway API duration`;
      else if (requestMs !== undefined || backendMs !== undefined)
        filters.push({
          timeouts: {
            ...(requestMs === undefined ? {} : { requestMs }),
            ...(backendMs === undefined || backendMs === 0 ? {} : { upstreamResponseHeadMs: backendMs }),
          },
        });
    }
    let backends: BackendInput[] | undefined;
    if (!redirects) {
      backends = [];
      (rule.backendRefs ?? []).forEach((b, k) => {
        if ((b.filters ?? []).length > 0) {
          resolution.unsupported ??= `${field}.backendRefs[${k}].filters: filters on a backendRef are not supported (put them on the rule)`;
          return;
        }
        const weight = b.weight ?? 1;
        const name = backend(b, `${field}.backendRefs[${k}]`);
        backends!.push(
          name === undefined ? { service: b.name, weight, unresolved: true } : { service: name, weight },
        );
      });
      // No backend, or none with a weight: every request is answered 500, as the Gateway API says.
      if (backends.every((b) => b.weight === 0))
        backends = [{ service: 'none', weight: 1, unresolved: true }];
    }
    const matches =
      kind === 'GRPCRoute'
        ? grpcMatches(rule.matches as GrpcRouteMatch[] | undefined)
        : httpMatches(rule.matches as HttpRouteMatch[] | undefined);
    for (const match of matches) {
      if (typeof match === 'string') {
        resolution.unsupported ??= `${field}.matches: ${match}`;
        continue;
      }
      resolution.paths.push({
        ...match,
        ...(filters.length === 0 ? {} : { filters }),
        ...(backends === undefined ? {} : { backends }),
      });
    }
  });
  return resolution;
}

type MatchInput = Omit<PathInput, 'filters' | 'backends' | 'service'>;

function valueMatches(
  list: readonly ValueMatch[] | undefined,
): { name: string; value: string; type: 'Exact' | 'RegularExpression' }[] | string {
  const out: { name: string; value: string; type: 'Exact' | 'RegularExpression' }[] = [];
  for (const m of list ?? []) {
    const type = m.type ?? 'Exact';
    if (type !== 'Exact' && type !== 'RegularExpression') return `match type ${type} is not supported`;
    out.push({ name: m.name, value: m.value, type });
  }
  return out;
}

/** httpMatches turns an HTTPRoute rule's matches into path matches (none: every path). */
function httpMatches(matches: readonly HttpRouteMatch[] | undefined): (MatchInput | string)[] {
  const list = matches === undefined || matches.length === 0 ? [{}] : matches;
  return list.map((m: HttpRouteMatch) => {
    const type = m.path?.type ?? 'PathPrefix';
    const value = m.path?.value ?? '/';
    const headers = valueMatches(m.headers);
    const queryParams = valueMatches(m.queryParams);
    if (typeof headers === 'string') return headers;
    if (typeof queryParams === 'string') return queryParams;
    let path: Pick<PathInput, 'path' | 'type' | 'regex'>;
    if (type === 'Exact') path = { path: value, type: 'Exact' };
    else if (type === 'PathPrefix')
      path = { path: value.length > 1 ? value.replace(/\/+$/, '') || '/' : value, type: 'Prefix' };
    else if (type === 'RegularExpression')
      path = { path: `(?:${value})$`, type: 'ImplementationSpecific', regex: true };
    else return `path match type ${type} is not supported`;
    return {
      ...path,
      ...(m.method === undefined ? {} : { method: m.method as NonNullable<PathInput['method']> }),
      ...(headers.length === 0 ? {} : { headers }),
      ...(queryParams.length === 0 ? {} : { queryParams }),
    };
  });
}

/** grpcMatches turns a GRPCRoute rule's matches into path matches on `/service/method`. */
function grpcMatches(matches: readonly GrpcRouteMatch[] | undefined): (MatchInput | string)[] {
  const list = matches === undefined || matches.length === 0 ? [{}] : matches;
  return list.map((m: GrpcRouteMatch) => {
    const headers = valueMatches(m.headers);
    if (typeof headers === 'string') return headers;
    const type = m.method?.type ?? 'Exact';
    const service = m.method?.service;
    const method = m.method?.method;
    let path: Pick<PathInput, 'path' | 'type' | 'regex'>;
    if (type === 'Exact') {
      if (service !== undefined && method !== undefined)
        path = { path: `/${service}/${method}`, type: 'Exact' };
      else if (service !== undefined) path = { path: `/${service}`, type: 'Prefix' };
      else if (method !== undefined)
        path = { path: `/[^/]+/${escapeRegex(method)}$`, type: 'ImplementationSpecific', regex: true };
      else path = { path: '/', type: 'Prefix' };
    } else if (type === 'RegularExpression') {
      path = {
        path: `/(?:${service ?? '[^/]+'})/(?:${method ?? '[^/]+'})$`,
        type: 'ImplementationSpecific',
        regex: true,
      };
    } else return `method match type ${type} is not supported`;
    return { ...path, ...(headers.length === 0 ? {} : { headers }) };
  });
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function headerRules(m: HeaderModifier | undefined): NonNullable<FilterInput['requestHeaders']> {
  const toRecord = (list: readonly { name: string; value: string }[] | undefined) =>
    list === undefined || list.length === 0
      ? undefined
      : Object.fromEntries(list.map((h) => [h.name, h.value]));
  const set = toRecord(m?.set);
  const add = toRecord(m?.add);
  return {
    ...(set === undefined ? {} : { set }),
    ...(add === undefined ? {} : { add }),
    ...(m?.remove === undefined || m.remove.length === 0 ? {} : { remove: [...m.remove] }),
  };
}

/**
 * pathFilter turns one route filter into a Portico path filter; a string says why it cannot be, and
 * undefined leaves it out (a mirror whose backend did not resolve).
 */
function pathFilter(
  f: HttpRouteFilter,
  kind: 'HTTPRoute' | 'GRPCRoute',
  mirrorBackend: (b: BackendRef) => string | undefined,
): FilterInput | string | undefined {
  switch (f.type) {
    case 'RequestHeaderModifier':
      return { requestHeaders: headerRules(f.requestHeaderModifier) };
    case 'ResponseHeaderModifier':
      return { responseHeaders: headerRules(f.responseHeaderModifier) };
    case 'RequestMirror': {
      const mirror = f.requestMirror;
      if (mirror === undefined) return 'RequestMirror needs requestMirror';
      const service = mirrorBackend(mirror.backendRef);
      if (service === undefined) return undefined;
      const percent =
        mirror.percent ??
        (mirror.fraction === undefined
          ? 100
          : (100 * mirror.fraction.numerator) / (mirror.fraction.denominator ?? 100));
      return { mirror: { service, percent } };
    }
    case 'RequestRedirect': {
      if (kind === 'GRPCRoute') return 'RequestRedirect is not a GRPCRoute filter';
      const r = f.requestRedirect ?? {};
      const status = r.statusCode ?? 302;
      if (status !== 301 && status !== 302 && status !== 303 && status !== 307 && status !== 308)
        return `RequestRedirect statusCode ${status} is not a redirect status`;
      return {
        redirect: {
          ...(r.scheme === undefined ? {} : { scheme: r.scheme as 'http' | 'https' }),
          ...(r.hostname === undefined ? {} : { host: r.hostname }),
          ...(r.port === undefined ? {} : { port: r.port }),
          ...(r.path?.type === 'ReplaceFullPath' && r.path.replaceFullPath !== undefined
            ? { path: r.path.replaceFullPath }
            : {}),
          ...(r.path?.type === 'ReplacePrefixMatch' && r.path.replacePrefixMatch !== undefined
            ? { prefix: r.path.replacePrefixMatch }
            : {}),
          status,
        },
      };
    }
    case 'URLRewrite': {
      if (kind === 'GRPCRoute') return 'URLRewrite is not a GRPCRoute filter';
      const r = f.urlRewrite ?? {};
      return {
        rewrite: {
          ...(r.hostname === undefined ? {} : { host: r.hostname }),
          ...(r.path?.type === 'ReplaceFullPath' && r.path.replaceFullPath !== undefined
            ? { fullPath: r.path.replaceFullPath }
            : {}),
          ...(r.path?.type === 'ReplacePrefixMatch' && r.path.replacePrefixMatch !== undefined
            ? { prefix: r.path.replacePrefixMatch }
            : {}),
        },
      };
    }
    default:
      return `filter type ${f.type} is not supported`;
  }
}
