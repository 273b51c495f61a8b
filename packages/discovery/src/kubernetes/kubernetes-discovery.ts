import { hostname } from 'node:os';
import { type PorticoConfig, type PorticoConfigInput, validateConfig } from '@portico/config';
import type { FileProblem } from '../config-file.ts';
import type { ConfigUpdate, Discovery } from '../discovery.ts';
import { EventRecorder } from './event-recorder.ts';
import { IngressStatusWriter, type PublishOptions } from './ingress-status-writer.ts';
import { KubeClient } from './kube-client.ts';
import type { KubeConnection } from './kube-connection.ts';
import type { KubeIssue } from './kube-issue.ts';
import {
  type EndpointSlice,
  type Ingress,
  type IngressClass,
  type KubeObject,
  type Secret,
  type Service,
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
  type ObjectStore,
  refOf,
  type Translation,
  translateCluster,
} from './translate.ts';

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
  readonly watch?: Partial<WatchOptions>;
  /** debounceMs gathers the events of this many milliseconds into one config: 5 ms by default. */
  readonly debounceMs?: number;
  /** election configures leader election for status and Events; false: this instance always leads. */
  readonly election?: Partial<LeaseElectionOptions> | false;
  /** publish says what the leader writes to Ingress status; absent: status is not written. */
  readonly publish?: PublishOptions;
  /** statusRefreshMs is how often the leader re-reads the published addresses: 60 s by default. */
  readonly statusRefreshMs?: number;
  /** checkRoutes compiles routes as the data plane will; its problems become issues on their Ingress. */
  readonly checkRoutes?: (config: PorticoConfig) => readonly RouteCheckProblem[];
  /** onIssues is told the issues of each new config (the whole list). */
  readonly onIssues?: (issues: readonly KubeIssue[]) => void;
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
  readonly events: { sent: number; failed: number };
  readonly issues: readonly KubeIssue[];
  /** rebuilds counts configs made from the cluster; unchanged ones are not reported to the proxy. */
  readonly rebuilds: number;
}

/** MAX_EXCLUSION_ROUNDS bounds how often a config is rebuilt leaving out objects found invalid. */
const MAX_EXCLUSION_ROUNDS = 5;

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
  #lastDocument = '';
  #lastTranslation: Translation | undefined;
  #issues: readonly KubeIssue[] = [];
  #rebuilds = 0;
  #statusTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: KubernetesDiscoveryOptions) {
    this.options = options;
    this.client = new KubeClient(options.connection);
    this.identity =
      (options.election === false ? undefined : options.election?.identity) ??
      process.env.POD_NAME ??
      hostname();
    const watch = { ...DEFAULT_WATCH_OPTIONS, ...options.watch };
    const namespaces = options.namespaces?.length ? [...options.namespaces] : [undefined];
    const hooks = <T extends KubeObject>(trim: (o: T) => T | undefined) => ({
      transform: trim,
      onChange: (receivedAt: number) => this.#changed(receivedAt),
      onError: (error: Error, resource: ResourcePath) =>
        options.onWatchError?.(error, resource.kind, resource.namespace),
    });
    const make = <T extends KubeObject>(
      resource: Omit<ResourcePath, 'namespace'>,
      trim: (o: T) => T | undefined,
      cluster = false,
    ): Reflector<T>[] =>
      (cluster ? [undefined] : namespaces).map((namespace) => {
        const r = new Reflector<T>(
          this.client,
          { ...resource, ...(namespace === undefined ? {} : { namespace }) },
          hooks(trim),
          watch,
        );
        this.#reflectors.push(r as unknown as Reflector<KubeObject>);
        return r;
      });
    const NET = '/apis/networking.k8s.io/v1';
    this.#state = {
      ingresses: new UnionStore(
        make<Ingress>(
          {
            kind: 'Ingress',
            prefix: NET,
            plural: 'ingresses',
            ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
          },
          trimIngress,
        ),
      ),
      ingressClasses: new UnionStore(
        make<IngressClass>(
          { kind: 'IngressClass', prefix: NET, plural: 'ingressclasses' },
          trimIngressClass,
          true,
        ),
      ),
      services: new UnionStore(
        make<Service>({ kind: 'Service', prefix: '/api/v1', plural: 'services' }, trimService),
      ),
      endpointSlices: new UnionStore(
        make<EndpointSlice>(
          { kind: 'EndpointSlice', prefix: '/apis/discovery.k8s.io/v1', plural: 'endpointslices' },
          trimEndpointSlice,
        ),
      ),
      secrets: new UnionStore(
        make<Secret>(
          { kind: 'Secret', prefix: '/api/v1', plural: 'secrets', fieldSelector: 'type=kubernetes.io/tls' },
          trimSecret,
        ),
      ),
    };
    this.#events = new EventRecorder(this.client, this.identity);
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
        if (leading) void this.#leaderWork();
      });
    }
  }

  /** leading says whether this instance writes status and Events (always, without election). */
  get leading(): boolean {
    return this.#election === undefined || this.#election.leading;
  }

  /** issues are the problems found in the objects of the current config. */
  get issues(): readonly KubeIssue[] {
    return this.#issues;
  }

  async start(onUpdate: (update: ConfigUpdate) => void | Promise<void>): Promise<void> {
    this.#onUpdate = onUpdate;
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
    this.#lastDocument = '';
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
    const { translation, config, document, extraIssues } = result;
    this.#lastTranslation = translation;
    this.#issues = [...translation.issues, ...extraIssues];
    this.options.onIssues?.(this.#issues);
    if (this.leading) void this.#events.record(this.#issues);
    if (this.leading) void this.#writeStatus();
    if (document === this.#lastDocument) return;
    this.#lastDocument = document;
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
        document: string;
        extraIssues: KubeIssue[];
      }
    | { ok: false; problems: FileProblem[] } {
    const base = this.options.base;
    const baseRoutes = base.routes?.length ?? 0;
    const baseServices = base.services?.length ?? 0;
    const baseCertificates = base.certificates?.length ?? 0;
    const httpsAvailable = (base.listeners ?? []).some((l) => l.protocol === 'https');
    const exclude = new Set<string>();
    const extraIssues: KubeIssue[] = [];
    for (let round = 0; ; round++) {
      const translation = translateCluster(this.#state, {
        controller: this.options.controller ?? DEFAULT_CONTROLLER,
        ingressClass: this.options.ingressClass ?? DEFAULT_INGRESS_CLASS,
        allowExternalName: this.options.allowExternalName ?? false,
        httpsAvailable,
        exclude,
      });
      const document: PorticoConfigInput = {
        ...base,
        routes: [...(base.routes ?? []), ...translation.routes],
        services: [...(base.services ?? []), ...translation.services],
        certificates: [...(base.certificates ?? []), ...translation.certificates],
        ...(base.defaultService === undefined && translation.defaultService !== undefined
          ? { defaultService: translation.defaultService }
          : {}),
      };
      const validation = validateConfig(document);
      const origin = (path: string): string[] | 'base' => {
        const m = /^(routes|services|certificates)\[(\d+)\]/.exec(path);
        if (m === null)
          return path === 'defaultService' && translation.defaultService !== undefined ? [] : 'base';
        const i = Number(m[2]);
        if (m[1] === 'routes') return i < baseRoutes ? 'base' : [translation.routeOrigins[i - baseRoutes]!];
        if (m[1] === 'services')
          return i < baseServices ? 'base' : translation.serviceOrigins[i - baseServices]!;
        return i < baseCertificates ? 'base' : translation.certificateOrigins[i - baseCertificates]!;
      };
      const blame = (
        problems: readonly { path: string; code: string; message: string }[],
        leaveOut: boolean,
      ) => {
        const found: { path: string; message: string }[] = [];
        for (const problem of problems) {
          const from = origin(problem.path);
          if (from === 'base') {
            found.push(problem);
            continue;
          }
          for (const key of from) {
            const ingress = translation.ingresses.find(
              (i) => `${i.metadata.namespace}/${i.metadata.name}` === key,
            );
            if (ingress === undefined) continue;
            if (leaveOut) exclude.add(key);
            extraIssues.push({
              code: problem.code,
              object: refOf('Ingress', 'networking.k8s.io/v1', ingress),
              field: this.#field(translation, problem.path, baseRoutes),
              message: leaveOut
                ? `${problem.message}; this Ingress is left out until it is fixed`
                : problem.message,
            });
          }
        }
        return found;
      };
      if (validation.ok) {
        const routeProblems = this.options.checkRoutes?.(validation.config) ?? [];
        blame(routeProblems, false);
        return {
          ok: true,
          translation,
          config: validation.config,
          document: JSON.stringify(document),
          extraIssues,
        };
      }
      const baseProblems = blame(
        validation.issues.map((i) => ({ ...i, code: 'PORTICO_KUBE_INVALID_OBJECT' })),
        true,
      );
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

  /** #field names the part of the Ingress that made a config path, for issues. */
  #field(translation: Translation, path: string, baseRoutes: number): string {
    const m = /^routes\[(\d+)\](.*)$/.exec(path);
    if (m === null) return 'spec';
    const route = translation.routes[Number(m[1]) - baseRoutes];
    return `spec.rules (host ${route?.host ?? '*'})${m[2] ?? ''}`;
  }

  #locate(translation: Translation, path: string): string {
    const m = /^(routes|services|certificates)\[(\d+)\]/.exec(path);
    const base = this.options.base;
    if (m === null) return this.options.baseSource ?? 'kubernetes';
    const i = Number(m[2]);
    const offset = {
      routes: base.routes?.length ?? 0,
      services: base.services?.length ?? 0,
      certificates: base.certificates?.length ?? 0,
    }[m[1] as 'routes' | 'services' | 'certificates'];
    if (i < offset) return this.options.baseSource ?? 'base config';
    const origins =
      m[1] === 'routes'
        ? [translation.routeOrigins[i - offset]]
        : m[1] === 'services'
          ? translation.serviceOrigins[i - offset]
          : translation.certificateOrigins[i - offset];
    return `Ingress ${(origins ?? []).join(', ')}`;
  }

  async #leaderWork(): Promise<void> {
    if (!this.leading || this.#lastTranslation === undefined) return;
    await this.#events.record(this.#issues);
    await this.#writeStatus(true);
  }

  #addresses: Awaited<ReturnType<IngressStatusWriter['addresses']>> | undefined;
  #writingStatus = false;

  async #writeStatus(refresh = false): Promise<void> {
    const writer = this.#status;
    const translation = this.#lastTranslation;
    if (writer === undefined || translation === undefined || this.#writingStatus) return;
    this.#writingStatus = true;
    try {
      if (refresh || this.#addresses === undefined) this.#addresses = await writer.addresses();
      if (!this.leading) return;
      await writer.write(translation.ingresses, this.#addresses);
    } catch (error) {
      writer.failures++;
      writer.lastError = (error as Error).message;
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
      events: { sent: this.#events.sent, failed: this.#events.failed },
      issues: this.#issues,
      rebuilds: this.#rebuilds,
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#statusTimer !== undefined) clearInterval(this.#statusTimer);
    await Promise.all(this.#reflectors.map((r) => r.stop()));
    await this.#election?.stop();
    await this.#building;
    await this.client.close();
  }
}
