import { hostname } from 'node:os';
import { type PorticoConfig, type PorticoConfigInput, ValidationMemo, validateConfig } from '@portico/config';
import type { FileProblem } from '../config-file.ts';
import type { ConfigUpdate, Discovery } from '../discovery.ts';
import { type AcmeRequest, wantsAcme } from './acme-request.ts';
import { EndpointSliceIndex } from './endpoint-slice-index.ts';
import { EventRecorder } from './event-recorder.ts';
import { gatewayAcmeRequests } from './gateway-acme.ts';
import {
  GATEWAY_GROUP,
  type Gateway,
  type GatewayClass,
  type GrpcRoute,
  type HttpRoute,
  type Namespace,
  type ReferenceGrant,
  type TlsRoute,
  trimGatewayObject,
  trimNamespace,
} from './gateway-objects.ts';
import { GatewayStatusWriter } from './gateway-status-writer.ts';
import {
  DEFAULT_GATEWAY_CONTROLLER,
  type GatewayState,
  type GatewayTranslation,
  translateGateways,
} from './gateway-translate.ts';
import { IngressStatusWriter, type PublishOptions } from './ingress-status-writer.ts';
import { KubeApiError, KubeClient } from './kube-client.ts';
import type { KubeConnection } from './kube-connection.ts';
import type { KubeIssue, ObjectRef } from './kube-issue.ts';
import {
  type EndpointSlice,
  type Ingress,
  type IngressClass,
  type KubeObject,
  keyOf,
  SERVICE_NAME_LABEL,
  type Secret,
  type Service,
  trimAuthSecret,
  trimEndpointSlice,
  trimIngress,
  trimIngressClass,
  trimSecret,
  trimService,
} from './kube-objects.ts';
import {
  DEFAULT_LEASE_NAME,
  DEFAULT_LEASE_TIMING,
  LeaseElection,
  type LeaseElectionOptions,
} from './lease-election.ts';
import {
  DEFAULT_WATCH_OPTIONS,
  Reflector,
  type ReflectorStats,
  type ResourcePath,
  type WatchOptions,
} from './reflector.ts';
import {
  type ClusterState,
  DEFAULT_CONTROLLER,
  DEFAULT_INGRESS_CLASS,
  isPorticoIngress,
  type ObjectStore,
  refOf,
  type Translation,
  translateCluster,
} from './translate.ts';
import { TranslationCache } from './translation-cache.ts';

/** RouteCheckProblem is a problem a route check found at a JSON path of the config (`routes[3].paths[0].path`). */
export interface RouteCheckProblem {
  readonly code: string;
  readonly path: string;
  readonly message: string;
}

/** KubernetesDiscoveryOptions configure `KubernetesDiscovery`; only `connection` and `base` are required. */
export interface KubernetesDiscoveryOptions {
  readonly connection: KubeConnection;
  /** base is the config the cluster's routes, services and certificates are added to (listeners, admin...). */
  readonly base: PorticoConfigInput;
  /** baseSource names where `base` came from, for messages: `portico.yaml` or `built-in defaults`. */
  readonly baseSource?: string;
  /** controller is the IngressClass controller served: `portico.dev/ingress-controller` by default. */
  readonly controller?: string;
  /** ingressClass is the class name of the legacy annotation: `portico` by default. */
  readonly ingressClass?: string;
  /** namespaces to watch; empty or absent: all. */
  readonly namespaces?: readonly string[];
  /** labelSelector limits the Ingresses served (`team=web`); Services and the rest are not filtered. */
  readonly labelSelector?: string;
  /** allowExternalName lets Ingresses reach ExternalName Services: off by default. */
  readonly allowExternalName?: boolean;
  /**
   * sslRedirect redirects plain HTTP to HTTPS for the hosts an Ingress has TLS for (an Ingress says
   * otherwise with `portico.dev/ssl-redirect`): off by default, as the Ingress conformance suite expects.
   */
  readonly sslRedirect?: boolean;
  /**
   * nginxClass is the ingress-nginx class whose Ingresses are served with its semantics and annotations
   * (docs/migrate-from-ingress-nginx.md); none by default.
   */
  readonly nginxClass?: string;
  /** allowUnsafeAnnotations serves ingress-nginx Ingresses whose security-relevant annotations cannot be honoured. */
  readonly allowUnsafeAnnotations?: boolean;
  /**
   * gatewayApi watches the Gateway API's kinds when their CRDs are installed (checked at start and every
   * `gatewayProbeMs` until found): on by default.
   */
  readonly gatewayApi?: boolean;
  /** gatewayControllerName is the GatewayClass `controllerName` served: `portico.dev/gateway-controller`. */
  readonly gatewayControllerName?: string;
  /** gatewayProbeMs is how often an absent Gateway API is looked for again: 30 s by default. */
  readonly gatewayProbeMs?: number;
  readonly watch?: Partial<WatchOptions>;
  /** debounceMs gathers the events of this many milliseconds into one config: 5 ms by default. */
  readonly debounceMs?: number;
  /** election configures leader election for status and Events; false: this instance always leads. */
  readonly election?: Partial<LeaseElectionOptions> | false;
  /** publish says what the leader writes to Ingress status; absent: status is not written. */
  readonly publish?: PublishOptions;
  /** statusRefreshMs is how often the leader re-reads the published addresses: 60 s by default. */
  readonly statusRefreshMs?: number;
  /** onIssues is told the issues of each new config (the whole list). */
  readonly onIssues?: (issues: readonly KubeIssue[]) => void;
  /** onLeadership is told when this instance becomes the leader (writes status and Events) or stops. */
  readonly onLeadership?: (leading: boolean, holder: string) => void;
  /** onWatchError is told of each failed list or watch (the watch retries by itself). */
  readonly onWatchError?: (error: Error, kind: string, namespace: string | undefined) => void;
}

/** KubernetesView is what the admin API shows about the Kubernetes source. */
export interface KubernetesView {
  readonly synced: boolean;
  readonly connection: string;
  readonly namespaces: readonly string[];
  readonly resources: (ReflectorStats & { kind: string; namespace: string | null; objects: number })[];
  readonly leader: {
    enabled: boolean;
    leading: boolean;
    holder: string;
    identity: string;
    lastError?: string;
  };
  readonly status: { writes: number; failures: number; lastError?: string };
  /** gatewayApi says whether the Gateway API's kinds are watched, and how its status writes went. */
  readonly gatewayApi: { watched: boolean; statusWrites: number; statusFailures: number; lastError?: string };
  readonly events: { sent: number; failed: number };
  readonly issues: readonly KubeIssue[];
  /** rebuilds counts configs made from the cluster; unchanged ones are not reported to the proxy. */
  readonly rebuilds: number;
}

/** MAX_EXCLUSION_ROUNDS bounds how often a config is rebuilt leaving out objects found invalid. */
const MAX_EXCLUSION_ROUNDS = 5;

/** sameItems says whether two lists hold the same objects in the same order. */
function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** storeOf reads the stores of a kind's reflectors (one per namespace) as one store. */
function storeOf<T extends KubeObject>(reflectors: Reflector<T>[]): ObjectStore<T> {
  return reflectors.length === 1 ? reflectors[0]!.store : new UnionStore(reflectors);
}

/** UnionStore reads several reflectors' stores (one per namespace) as one. */
class UnionStore<T extends KubeObject> implements ObjectStore<T> {
  readonly #reflectors: Reflector<T>[];
  constructor(reflectors: Reflector<T>[]) {
    this.#reflectors = reflectors;
  }
  get(key: string): T | undefined {
    for (const r of this.#reflectors) {
      const found = r.store.get(key);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  *values(): Iterable<T> {
    for (const r of this.#reflectors) yield* r.store.values();
  }
}

/**
 * KubernetesDiscovery turns a cluster's Ingresses into Portico config: it list-and-watches Ingresses,
 * IngressClasses, Services, EndpointSlices and TLS Secrets, gathers the events of a few milliseconds,
 * translates them (`translateCluster`) into routes, services and certificates added to `base`, and
 * reports each config that differs from the last. An object that cannot become config is left out and
 * reported as an issue (and an Event on it); the rest serves on. When the API is unreachable the last
 * config stays; the watches retry with backoff. The elected leader writes Ingress status and Events.
 */
export class KubernetesDiscovery implements Discovery {
  readonly options: KubernetesDiscoveryOptions;
  readonly client: KubeClient;
  readonly identity: string;
  readonly #reflectors: Reflector<KubeObject>[] = [];
  readonly #state: ClusterState;
  readonly #election: LeaseElection | undefined;
  readonly #events: EventRecorder;
  readonly #status: IngressStatusWriter | undefined;
  #onUpdate: ((update: ConfigUpdate) => void | Promise<void>) | undefined;
  #synced = false;
  #timer: NodeJS.Timeout | undefined;
  /** #pendingSince is when the oldest change not yet in a config arrived (`performance.now()`). */
  #pendingSince: number | undefined;
  #building: Promise<void> = Promise.resolve();
  /** #last is what the last reported config was made of, to report only real changes. */
  #last: { routes: readonly unknown[]; services: readonly unknown[]; rest: string } | undefined;
  readonly #cache = new TranslationCache();
  readonly #slices: EndpointSliceIndex;
  /** #validation remembers the last valid config (the cache keeps unchanged parts identical). */
  readonly #validation = new ValidationMemo();
  /** #routeIssues are the router's problems with the config in force, on their Ingresses. */
  #routeIssues: readonly KubeIssue[] = [];
  #routeIssuesKey = '[]';
  #lastTranslation: Translation | undefined;
  #issues: readonly KubeIssue[] = [];
  #rebuilds = 0;
  #statusTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** #gateway is the Gateway API's stores, once its CRDs are found. */
  #gateway: GatewayState | undefined;
  #gatewayProbe: NodeJS.Timeout | undefined;
  readonly #gatewayStatus: GatewayStatusWriter;
  #lastGateway: GatewayTranslation | undefined;
  /** #makeReflectors makes (and registers) the reflectors of a kind, one per watched namespace. */
  readonly #makeReflectors: <T extends KubeObject>(
    resource: Omit<ResourcePath, 'namespace'>,
    trim: (o: T) => T | undefined,
    touched: (o: T) => string | undefined,
    cluster?: boolean,
  ) => Reflector<T>[];

  constructor(options: KubernetesDiscoveryOptions) {
    this.options = options;
    this.client = new KubeClient(options.connection);
    this.identity =
      (options.election === false ? undefined : options.election?.identity) ??
      process.env.POD_NAME ??
      hostname();
    const watch = { ...DEFAULT_WATCH_OPTIONS, ...options.watch };
    const namespaces = options.namespaces?.length ? [...options.namespaces] : [undefined];
    const hooks = <T extends KubeObject>(
      trim: (o: T) => T | undefined,
      touched: (o: T) => string | undefined,
    ) => ({
      transform: trim,
      onChange: (receivedAt: number, changed?: T) => {
        // What changed decides what the next translation must redo (TranslationCache).
        const key = changed === undefined ? undefined : touched(changed);
        if (changed === undefined) this.#slices.invalidate();
        if (changed === undefined || key === 'all') this.#cache.invalidateAll();
        else if (key !== undefined) this.#cache.touch(key);
        this.#changed(receivedAt);
      },
      onError: (error: Error, resource: ResourcePath) =>
        options.onWatchError?.(error, resource.kind, resource.namespace),
    });
    const make = <T extends KubeObject>(
      resource: Omit<ResourcePath, 'namespace'>,
      trim: (o: T) => T | undefined,
      touched: (o: T) => string | undefined,
      cluster = false,
    ): Reflector<T>[] =>
      (cluster ? [undefined] : namespaces).map((namespace) => {
        const r = new Reflector<T>(
          this.client,
          { ...resource, ...(namespace === undefined ? {} : { namespace }) },
          hooks(trim, touched),
          watch,
        );
        this.#reflectors.push(r as unknown as Reflector<KubeObject>);
        return r;
      });
    this.#makeReflectors = make;
    const NET = '/apis/networking.k8s.io/v1';
    const stores = {
      ingresses: storeOf(
        make<Ingress>(
          {
            kind: 'Ingress',
            prefix: NET,
            plural: 'ingresses',
            ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
          },
          trimIngress,
          (o) => `ingress:${keyOf(o)}`,
        ),
      ),
      ingressClasses: storeOf(
        make<IngressClass>(
          { kind: 'IngressClass', prefix: NET, plural: 'ingressclasses' },
          trimIngressClass,
          () => 'all', // which Ingresses are Portico's may change
          true,
        ),
      ),
      services: storeOf(
        make<Service>(
          { kind: 'Service', prefix: '/api/v1', plural: 'services' },
          trimService,
          (o) => `service:${keyOf(o)}`,
        ),
      ),
      endpointSlices: storeOf(
        make<EndpointSlice>(
          { kind: 'EndpointSlice', prefix: '/apis/discovery.k8s.io/v1', plural: 'endpointslices' },
          trimEndpointSlice,
          (o) => {
            const owner = o.metadata.labels?.[SERVICE_NAME_LABEL];
            const service = owner === undefined ? undefined : `${o.metadata.namespace}/${owner}`;
            // A slice relabelled to another Service leaves the one it was filed under.
            const before = this.#slices.changed(o);
            if (before !== undefined && before !== service) this.#cache.touch(`service:${before}`);
            return service === undefined ? undefined : `service:${service}`;
          },
        ),
      ),
      // TLS Secrets only, unless ingress-nginx Ingresses are served: their basic auth and upstream CA
      // Secrets are Opaque (of those, only what such an Ingress may read is kept: trimAuthSecret).
      secrets: storeOf(
        make<Secret>(
          options.nginxClass === undefined
            ? {
                kind: 'Secret',
                prefix: '/api/v1',
                plural: 'secrets',
                fieldSelector: 'type=kubernetes.io/tls',
              }
            : { kind: 'Secret', prefix: '/api/v1', plural: 'secrets' },
          options.nginxClass === undefined ? trimSecret : trimAuthSecret,
          (o) => `secret:${keyOf(o)}`,
        ),
      ),
    };
    this.#slices = new EndpointSliceIndex(stores.endpointSlices);
    this.#state = { ...stores, slicesOf: (service) => this.#slices.slicesOf(service) };
    this.#events = new EventRecorder(this.client, this.identity);
    this.#gatewayStatus = new GatewayStatusWriter(
      this.client,
      options.gatewayControllerName ?? DEFAULT_GATEWAY_CONTROLLER,
    );
    this.#status =
      options.publish === undefined ? undefined : new IngressStatusWriter(this.client, options.publish);
    if (options.election !== false) {
      const election: LeaseElectionOptions = {
        namespace: options.connection.namespace,
        name: DEFAULT_LEASE_NAME,
        ...DEFAULT_LEASE_TIMING,
        ...options.election,
        identity: this.identity,
      };
      this.#election = new LeaseElection(this.client, election, (leading) => {
        options.onLeadership?.(leading, this.#election?.holder ?? '');
        if (leading) void this.#leaderWork();
      });
    }
  }

  /**
   * acmeRequests lists the certificates Ingresses and Gateways ask Portico to get from an ACME CA:
   * each `spec.tls` entry (its Secret, its non-wildcard hosts) of the Ingresses of Portico's classes
   * annotated `portico.dev/acme: "true"`, or carrying cert-manager's `cert-manager.io/cluster-issuer` or
   * `cert-manager.io/issuer` (understood as "get a certificate from the configured ACME CA"), proven
   * by `portico.dev/acme-challenge` when set; and the HTTPS listeners of Portico's Gateways that ask
   * (see `acmeListenerSecret`).
   */
  acmeRequests(): AcmeRequest[] {
    const requests: AcmeRequest[] = [];
    const options = {
      controller: this.options.controller ?? DEFAULT_CONTROLLER,
      ingressClass: this.options.ingressClass ?? DEFAULT_INGRESS_CLASS,
      ...(this.options.nginxClass === undefined ? {} : { nginxClass: this.options.nginxClass }),
    };
    for (const ingress of this.#state.ingresses.values()) {
      const a = ingress.metadata.annotations;
      if (!wantsAcme(a) || !isPorticoIngress(ingress, this.#state.ingressClasses, options)) continue;
      const namespace = ingress.metadata.namespace ?? 'default';
      const challenge = a?.['portico.dev/acme-challenge'];
      for (const [index, tls] of (ingress.spec?.tls ?? []).entries()) {
        const hosts = (tls.hosts ?? []).filter((h) => !h.startsWith('*'));
        const wildcards = (tls.hosts ?? []).filter((h) => h.startsWith('*'));
        if (tls.secretName === undefined || tls.secretName === '' || hosts.length === 0) continue;
        requests.push({
          namespace,
          secretName: tls.secretName,
          hosts,
          ...(wildcards.length === 0 ? {} : { wildcards }),
          origin: `Ingress ${keyOf(ingress)}`,
          object: refOf('Ingress', 'networking.k8s.io/v1', ingress),
          field: `spec.tls[${index}]`,
          ...(challenge === 'http-01' || challenge === 'tls-alpn-01' ? { challenge } : {}),
        });
      }
    }
    if (this.#gateway !== undefined) {
      const controllerName = this.options.gatewayControllerName ?? DEFAULT_GATEWAY_CONTROLLER;
      const classes = new Set(
        [...this.#gateway.gatewayClasses.values()]
          .filter((c) => c.spec?.controllerName === controllerName)
          .map((c) => c.metadata.name),
      );
      const gateways = [...this.#gateway.gateways.values()].filter((g) =>
        classes.has(g.spec?.gatewayClassName ?? ''),
      );
      requests.push(...gatewayAcmeRequests(gateways));
    }
    return requests;
  }

  /** recordEvent posts a Warning Event about `issue` on its object, once, when this instance leads. */
  recordEvent(issue: KubeIssue): void {
    if (this.leading) void this.#events.record([issue]);
  }

  /** tlsSecret returns a watched TLS Secret (`namespace/name`), as the store holds it. */
  tlsSecret(key: string): Secret | undefined {
    return this.#state.secrets.get(key);
  }

  /** leading says whether this instance writes status and Events (always, without election). */
  get leading(): boolean {
    return this.#election === undefined || this.#election.leading;
  }

  /** issues are the problems found in the objects of the current config. */
  get issues(): readonly KubeIssue[] {
    return this.#routeIssues.length === 0 ? this.#issues : [...this.#issues, ...this.#routeIssues];
  }

  async start(onUpdate: (update: ConfigUpdate) => void | Promise<void>): Promise<void> {
    this.#onUpdate = onUpdate;
    if (this.options.gatewayApi !== false) await this.#probeGatewayApi();
    for (const r of this.#reflectors) r.start();
    this.#election?.start();
    await Promise.all(this.#reflectors.map((r) => r.whenSynced()));
    if (this.#stopped) return;
    this.#synced = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#enqueueBuild();
    const refresh = this.options.statusRefreshMs ?? 60_000;
    this.#statusTimer = setInterval(() => void this.#leaderWork(), refresh);
    this.#statusTimer.unref();
  }

  /** #stable holds the last Gateway API routes and services by their JSON, to hand on the same objects. */
  #stable = new Map<string, object>();

  /**
   * #stabilize replaces the Gateway API routes and services that equal last round's with last round's
   * objects: unchanged parts stay identical, so the proxy and the validation memo skip them.
   */
  #stabilize(gateway: GatewayTranslation): void {
    const next = new Map<string, object>();
    const same = <T extends object>(list: T[]) => {
      for (let i = 0; i < list.length; i++) {
        const key = JSON.stringify(list[i]);
        const kept = (this.#stable.get(key) as T | undefined) ?? list[i]!;
        next.set(key, kept);
        list[i] = kept;
      }
    };
    same(gateway.routes);
    same(gateway.services);
    this.#stable = next;
  }

  /**
   * #probeGatewayApi looks for the Gateway API's kinds (API discovery of its group) and, when they are
   * served, adds their reflectors; when they are not (or the API cannot be asked), it looks again later.
   */
  async #probeGatewayApi(): Promise<boolean> {
    if (this.#stopped || this.#gateway !== undefined) return true;
    const served = async (version: string): Promise<Set<string>> => {
      try {
        const list = await this.client.json<{ resources?: { name: string }[] }>({
          path: `/apis/${GATEWAY_GROUP}/${version}`,
        });
        return new Set((list.resources ?? []).map((r) => r.name));
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404) return new Set();
        throw error;
      }
    };
    let v1: Set<string>;
    let grants: string | undefined;
    let tls: string | undefined;
    try {
      v1 = await served('v1');
      grants = v1.has('referencegrants')
        ? 'v1'
        : v1.has('gateways')
          ? (await served('v1beta1')).has('referencegrants')
            ? 'v1beta1'
            : undefined
          : undefined;
      tls = v1.has('tlsroutes')
        ? 'v1'
        : v1.has('gateways') && (await served('v1alpha2')).has('tlsroutes')
          ? 'v1alpha2'
          : undefined;
    } catch {
      v1 = new Set();
    }
    if (!v1.has('gateways') || !v1.has('httproutes') || !v1.has('gatewayclasses')) {
      this.#gatewayProbe ??= setInterval(() => {
        void this.#probeGatewayApi().then((found) => {
          if (!found) return;
          clearInterval(this.#gatewayProbe);
          this.#gatewayProbe = undefined;
        });
      }, this.options.gatewayProbeMs ?? 30_000);
      this.#gatewayProbe.unref();
      return false;
    }
    const GW = `/apis/${GATEWAY_GROUP}/v1`;
    const make = this.#makeReflectors;
    const before = this.#reflectors.length;
    const gatewayKind = <T extends KubeObject>(kind: string, plural: string, prefix = GW, cluster = false) =>
      storeOf(make<T>({ kind, prefix, plural }, trimGatewayObject as (o: T) => T, () => undefined, cluster));
    const empty = storeOf<never>([]);
    this.#gateway = {
      gatewayClasses: gatewayKind<GatewayClass>('GatewayClass', 'gatewayclasses', GW, true),
      gateways: gatewayKind<Gateway>('Gateway', 'gateways'),
      httpRoutes: gatewayKind<HttpRoute>('HTTPRoute', 'httproutes'),
      grpcRoutes: v1.has('grpcroutes') ? gatewayKind<GrpcRoute>('GRPCRoute', 'grpcroutes') : empty,
      tlsRoutes:
        tls === undefined
          ? empty
          : gatewayKind<TlsRoute>('TLSRoute', 'tlsroutes', `/apis/${GATEWAY_GROUP}/${tls}`),
      referenceGrants:
        grants === undefined
          ? empty
          : gatewayKind<ReferenceGrant>(
              'ReferenceGrant',
              'referencegrants',
              `/apis/${GATEWAY_GROUP}/${grants}`,
            ),
      namespaces: storeOf(
        make<Namespace>(
          { kind: 'Namespace', prefix: '/api/v1', plural: 'namespaces' },
          trimNamespace,
          () => undefined,
          true,
        ),
      ),
    };
    // Found after start: these reflectors start now, and their first lists trigger a build.
    if (this.#onUpdate !== undefined && this.#synced)
      for (const r of this.#reflectors.slice(before)) r.start();
    return true;
  }

  #changed(receivedAt: number): void {
    this.#pendingSince ??= receivedAt;
    if (!this.#synced || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#enqueueBuild();
    }, this.options.debounceMs ?? 5);
  }

  #enqueueBuild(): Promise<void> {
    this.#building = this.#building.then(() => this.#build()).catch(() => {});
    return this.#building;
  }

  /** reload rebuilds the config from the local copies now. */
  async reload(): Promise<void> {
    this.#last = undefined;
    await this.#enqueueBuild();
  }

  async #build(): Promise<void> {
    if (this.#stopped) return;
    const receivedAt = this.#pendingSince ?? performance.now();
    this.#pendingSince = undefined;
    this.#rebuilds++;
    const result = this.#translateValid();
    const source = `kubernetes (${this.options.connection.description})`;
    if (!result.ok) {
      await this.#onUpdate?.({ ok: false, problems: result.problems, source });
      return;
    }
    const { translation, config, extraIssues, gateway } = result;
    this.#lastTranslation = translation;
    this.#lastGateway = gateway;
    this.#issues = [...translation.issues, ...extraIssues];
    this.options.onIssues?.(this.issues);
    if (this.leading) void this.#events.record(this.issues);
    if (this.leading) void this.#writeStatus();
    if (this.leading && gateway !== undefined) void this.#writeGatewayStatus(gateway);
    // Unchanged routes and services are the same objects (TranslationCache); the rest is small.
    const rest = JSON.stringify([config.certificates, config.defaultService ?? null]);
    const last = this.#last;
    if (
      last !== undefined &&
      last.rest === rest &&
      sameItems(last.routes, config.routes) &&
      sameItems(last.services, config.services)
    )
      return;
    this.#last = { routes: config.routes, services: config.services, rest };
    await this.#onUpdate?.({
      ok: true,
      config,
      source,
      locate: (path) => this.#locate(translation, path),
      receivedAt,
    });
  }

  /** #translateValid translates, validates, and leaves out the Ingresses whose part is invalid. */
  #translateValid():
    | {
        ok: true;
        translation: Translation;
        config: PorticoConfig;
        extraIssues: KubeIssue[];
        gateway: GatewayTranslation | undefined;
      }
    | { ok: false; problems: FileProblem[] } {
    const base = this.options.base;
    const httpsAvailable = (base.listeners ?? []).some((l) => l.protocol === 'https');
    const exclude = new Set<string>();
    const extraIssues: KubeIssue[] = [];
    for (let round = 0; ; round++) {
      const ingresses = translateCluster(this.#state, {
        controller: this.options.controller ?? DEFAULT_CONTROLLER,
        ingressClass: this.options.ingressClass ?? DEFAULT_INGRESS_CLASS,
        allowExternalName: this.options.allowExternalName ?? false,
        sslRedirect: this.options.sslRedirect ?? false,
        ...(this.options.nginxClass === undefined ? {} : { nginxClass: this.options.nginxClass }),
        allowUnsafeAnnotations: this.options.allowUnsafeAnnotations ?? false,
        httpsAvailable,
        exclude,
        cache: this.#cache,
      });
      const gateway =
        this.#gateway === undefined
          ? undefined
          : translateGateways(this.#gateway, this.#state, {
              controllerName: this.options.gatewayControllerName ?? DEFAULT_GATEWAY_CONTROLLER,
              listeners: (base.listeners ?? []).map((l) => ({
                name: l.name ?? '',
                port: l.gatewayPort ?? l.port ?? 0,
                protocol: l.protocol ?? 'http',
              })),
              allowExternalName: this.options.allowExternalName ?? false,
              exclude,
            });
      if (gateway !== undefined) this.#stabilize(gateway);
      const translation = gateway === undefined ? ingresses : withGateway(ingresses, gateway);
      const document: PorticoConfigInput = {
        ...base,
        ...(gateway === undefined || gateway.sni.size === 0 ? {} : { listeners: withSni(base, gateway) }),
        routes: [...(base.routes ?? []), ...translation.routes],
        services: [...(base.services ?? []), ...translation.services],
        certificates: [...(base.certificates ?? []), ...translation.certificates],
        ...(base.defaultService === undefined && translation.defaultService !== undefined
          ? { defaultService: translation.defaultService }
          : {}),
      };
      // In place: the document is built afresh each time, and the services it shares with the last one
      // are the same objects: the schema skips them, and the proxy keeps their balancers.
      const validation = validateConfig(document, { inPlace: true, memo: this.#validation });
      if (validation.ok) return { ok: true, translation, config: validation.config, extraIssues, gateway };
      const problems = validation.issues.map((i) => ({ ...i, code: 'PORTICO_KUBE_INVALID_OBJECT' }));
      const { issues, baseProblems } = this.#blame(translation, problems, exclude);
      extraIssues.push(...issues);
      if (baseProblems.length > 0 || round >= MAX_EXCLUSION_ROUNDS)
        return {
          ok: false,
          problems: (baseProblems.length > 0 ? baseProblems : validation.issues).map((p) => ({
            code: 'PORTICO_CONFIG_INVALID',
            where: this.options.baseSource ?? 'base config',
            path: p.path,
            message: p.message,
          })),
        };
    }
  }

  /**
   * #blame turns problems at config paths into issues on the Ingresses that made those parts; with
   * `exclude`, those Ingresses are left out of the next round. Problems in the base config are returned.
   */
  #blame(
    translation: Translation,
    problems: readonly RouteCheckProblem[],
    exclude?: Set<string>,
  ): { issues: KubeIssue[]; baseProblems: RouteCheckProblem[] } {
    if (problems.length === 0) return { issues: [], baseProblems: [] };
    const byKey = new Map<string, ObjectRef>(
      translation.ingresses.map((i) => [keyOf(i), refOf('Ingress', 'networking.k8s.io/v1', i)]),
    );
    for (const [key, ref] of (translation as GatewayAware).refs ?? []) byKey.set(key, ref);
    const issues: KubeIssue[] = [];
    const baseProblems: RouteCheckProblem[] = [];
    for (const problem of problems) {
      const origins = this.#originsOf(translation, problem.path);
      if (origins === undefined) {
        if (problem.path !== 'defaultService' || translation.defaultService === undefined)
          baseProblems.push(problem);
        continue;
      }
      for (const key of origins) {
        const object = byKey.get(key);
        if (object === undefined) continue;
        exclude?.add(key);
        issues.push({
          code: problem.code,
          object,
          field: this.#field(translation, problem.path),
          message:
            exclude === undefined
              ? problem.message
              : `${problem.message}; this ${object.kind} is left out until it is fixed`,
        });
      }
    }
    return { issues, baseProblems };
  }

  /**
   * reportRouteIssues takes the problems the data plane found compiling the routes of the config in force
   * (`routes[3].paths[0].path`: a bad path, a duplicate) and reports them on their Ingresses. The router
   * leaves those rules out by itself; this tells whose they were.
   */
  reportRouteIssues(problems: readonly RouteCheckProblem[]): void {
    const translation = this.#lastTranslation;
    if (translation === undefined) return;
    const routeIssues = this.#blame(translation, problems).issues;
    const key = JSON.stringify(routeIssues);
    if (key === this.#routeIssuesKey) return;
    this.#routeIssuesKey = key;
    this.#routeIssues = routeIssues;
    this.options.onIssues?.(this.issues);
    if (this.leading) void this.#events.record(this.issues);
  }

  /** #field names the part of the Ingress that made a config path, for issues. */
  #field(translation: Translation, path: string): string {
    if (path.startsWith('certificates[')) return 'spec.tls';
    const m = /^routes\[(\d+)\](.*)$/.exec(path);
    if (m === null) return 'spec';
    const route = translation.routes[Number(m[1]) - this.#offsets().routes];
    return `spec.rules (host ${route?.host ?? '*'})${m[2] ?? ''}`;
  }

  #locate(translation: Translation, path: string): string {
    const origins = this.#originsOf(translation, path);
    return origins === undefined
      ? (this.options.baseSource ?? 'base config')
      : origins.map((o) => (o.includes(':') ? o.replace(':', ' ') : `Ingress ${o}`)).join(', ');
  }

  /** #offsets are how many routes, services and certificates the base config has before the cluster's. */
  #offsets(): Record<'routes' | 'services' | 'certificates', number> {
    const base = this.options.base;
    return {
      routes: base.routes?.length ?? 0,
      services: base.services?.length ?? 0,
      certificates: base.certificates?.length ?? 0,
    };
  }

  /**
   * #originsOf names the Ingresses (`namespace/name`) that made the config part at `path`
   * (`services[12].endpoints`), or undefined for a part of the base config.
   */
  #originsOf(translation: Translation, path: string): readonly string[] | undefined {
    const sni = /^listeners\[(\d+)\]\.sni\[(\d+)\]/.exec(path);
    if (sni !== null) {
      const listener = this.options.base.listeners?.[Number(sni[1])];
      const j = Number(sni[2]) - (listener?.sni?.length ?? 0);
      const origin =
        listener?.name === undefined ? undefined : this.#lastGateway?.sniOrigins.get(listener.name)?.[j];
      return j < 0 || origin === undefined ? undefined : [origin];
    }
    const m = /^(routes|services|certificates)\[(\d+)\]/.exec(path);
    if (m === null) return undefined;
    const kind = m[1] as 'routes' | 'services' | 'certificates';
    const i = Number(m[2]) - this.#offsets()[kind];
    if (i < 0) return undefined;
    if (kind === 'routes')
      return translation.routeOrigins[i] === undefined ? undefined : [translation.routeOrigins[i]];
    return (kind === 'services' ? translation.serviceOrigins : translation.certificateOrigins)[i];
  }

  async #leaderWork(): Promise<void> {
    if (!this.leading || this.#lastTranslation === undefined) return;
    await this.#events.record(this.issues);
    await this.#writeStatus(true);
    if (this.#lastGateway !== undefined) await this.#writeGatewayStatus(this.#lastGateway);
  }

  #gatewayWriting: Promise<void> = Promise.resolve();

  /** #writeGatewayStatus writes the Gateway API status of a translation, one write at a time. */
  #writeGatewayStatus(gateway: GatewayTranslation): Promise<void> {
    this.#gatewayWriting = this.#gatewayWriting
      .then(async () => {
        if (!this.leading || this.#stopped || gateway !== this.#lastGateway) return;
        if (this.#addresses === undefined && this.#status !== undefined)
          this.#addresses = await this.#status.addresses().catch(() => undefined);
        await this.#gatewayStatus.write(gateway.status, this.#addresses ?? []);
      })
      .catch(() => {});
    return this.#gatewayWriting;
  }

  #addresses: Awaited<ReturnType<IngressStatusWriter['addresses']>> | undefined;
  #writingStatus = false;
  /** #statusAgain: a write was asked for while one ran; it runs again after, with the latest Ingresses. */
  #statusAgain = false;

  async #writeStatus(refresh = false): Promise<void> {
    const writer = this.#status;
    if (writer === undefined || this.#lastTranslation === undefined) return;
    if (this.#writingStatus) {
      this.#statusAgain = true;
      return;
    }
    this.#writingStatus = true;
    try {
      do {
        this.#statusAgain = false;
        try {
          if (refresh || this.#addresses === undefined) this.#addresses = await writer.addresses();
          refresh = false;
          if (!this.leading || this.#stopped) return;
          await writer.write(this.#lastTranslation.ingresses, this.#addresses);
        } catch (error) {
          writer.failures++;
          writer.lastError = (error as Error).message;
        }
      } while (this.#statusAgain && !this.#stopped);
    } finally {
      this.#writingStatus = false;
    }
  }

  view(): KubernetesView {
    return {
      synced: this.#synced,
      connection: this.options.connection.description,
      namespaces: this.options.namespaces?.length ? [...this.options.namespaces] : [],
      resources: this.#reflectors.map((r) => ({
        kind: r.resource.kind,
        namespace: r.resource.namespace ?? null,
        objects: r.store.size,
        ...r.stats,
      })),
      leader: {
        enabled: this.#election !== undefined,
        leading: this.leading,
        holder: this.#election?.holder ?? this.identity,
        identity: this.identity,
        ...(this.#election?.lastError === undefined ? {} : { lastError: this.#election.lastError }),
      },
      status: {
        writes: this.#status?.writes ?? 0,
        failures: this.#status?.failures ?? 0,
        ...(this.#status?.lastError === undefined ? {} : { lastError: this.#status.lastError }),
      },
      gatewayApi: {
        watched: this.#gateway !== undefined,
        statusWrites: this.#gatewayStatus.writes,
        statusFailures: this.#gatewayStatus.failures,
        ...(this.#gatewayStatus.lastError === undefined ? {} : { lastError: this.#gatewayStatus.lastError }),
      },
      events: { sent: this.#events.sent, failed: this.#events.failed },
      issues: this.issues,
      rebuilds: this.#rebuilds,
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#statusTimer !== undefined) clearInterval(this.#statusTimer);
    if (this.#gatewayProbe !== undefined) clearInterval(this.#gatewayProbe);
    await Promise.all(this.#reflectors.map((r) => r.stop()));
    await this.#election?.stop();
    await this.#building;
    await this.client.close();
  }
}

/** GatewayAware is a translation that also holds Gateway API routes: their origin keys name these objects. */
interface GatewayAware extends Translation {
  readonly refs?: ReadonlyMap<string, ObjectRef>;
}

/** withGateway adds the Gateway API's routes, services and certificates after the Ingresses'. */
function withGateway(ingresses: Translation, gateway: GatewayTranslation): GatewayAware {
  if (gateway.routes.length === 0 && gateway.services.length === 0 && gateway.certificates.length === 0)
    return gateway.issues.length === 0
      ? ingresses
      : { ...ingresses, issues: [...ingresses.issues, ...gateway.issues], refs: gateway.refs };
  return {
    ...ingresses,
    routes: [...ingresses.routes, ...gateway.routes],
    routeOrigins: [...ingresses.routeOrigins, ...gateway.routeOrigins],
    services: [...ingresses.services, ...gateway.services],
    serviceOrigins: [...ingresses.serviceOrigins, ...gateway.serviceOrigins],
    certificates: [...ingresses.certificates, ...gateway.certificates],
    certificateOrigins: [...ingresses.certificateOrigins, ...gateway.certificateOrigins],
    issues: [...ingresses.issues, ...gateway.issues],
    refs: gateway.refs,
  };
}

/** withSni adds TLSRoutes' SNI entries after a base listener's own (`listeners[].sni`). */
function withSni(
  base: PorticoConfigInput,
  gateway: GatewayTranslation,
): NonNullable<PorticoConfigInput['listeners']> {
  return (base.listeners ?? []).map((listener) => {
    const entries = listener.name === undefined ? undefined : gateway.sni.get(listener.name);
    return entries === undefined ? listener : { ...listener, sni: [...(listener.sni ?? []), ...entries] };
  });
}
