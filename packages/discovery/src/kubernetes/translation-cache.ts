import type { PorticoConfigInput } from '@portico/config';
import type { KubeIssue, KubernetesIssueCode } from './kube-issue.ts';
import type { CanarySettings } from './nginx-annotations.ts';
import type { Assembly } from './translation-assembly.ts';

const INGRESS = 'ingress:';

type RouteInput = NonNullable<PorticoConfigInput['routes']>[number];
type ServiceInput = NonNullable<PorticoConfigInput['services']>[number];

/** ServicePart is one backend's service as translated, with the problems found resolving it. */
export interface ServicePart {
  readonly signature: string;
  readonly service: ServiceInput;
  readonly issues: readonly { code: KubernetesIssueCode; message: string }[];
}

/** CertificatePart is a `tls` entry's certificate, before certificates shared by Ingresses are merged. */
export interface CertificatePart {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
  readonly hosts: readonly string[] | undefined;
}

/** IngressPart is what one Ingress contributes to the config. Its objects are never modified. */
export interface IngressPart {
  readonly routes: readonly RouteInput[];
  /** routesJson is `routes` as JSON when made (before validation fills in defaults). */
  readonly routesJson: string;
  /** services are the backends it uses, each once, in the order met. */
  readonly services: readonly { readonly name: string; readonly part: ServicePart }[];
  readonly certificates: readonly CertificatePart[];
  readonly defaultService: string | undefined;
  readonly issues: readonly KubeIssue[];
  /** dependencies are the generations of the Services and Secrets it read, as it read them. */
  readonly dependencies: ReadonlyMap<string, number>;
  /** canaries are the paths of an ingress-nginx canary Ingress, to join its main Ingress's. */
  readonly canaries?: readonly CanaryPart[];
}

/** CanaryPart is one path of a canary Ingress: which host and path it shares, and with what. */
export interface CanaryPart {
  readonly host: string;
  readonly path: string;
  readonly type: string;
  /** service is the canary's backend (a Portico service name). */
  readonly service: string;
  readonly settings: CanarySettings;
}

interface ServiceEntry {
  readonly value: ServicePart;
  /** round is the last translation that used it. */
  round: number;
}

interface IngressEntry {
  /** ingress is the object the part was made from (a watch event replaces the object). */
  readonly ingress: object;
  /** context is the translation options it was made under, with the cache's epoch. */
  readonly context: string;
  readonly value: IngressPart;
  round: number;
}

/**
 * TranslationCache lets a translation reuse what the previous one made from objects that did not change:
 * each Ingress's part (while the Ingress is the same object and none of the Services and Secrets it read
 * was touched since) and each backend's service (same for the Service and its EndpointSlices). The
 * Kubernetes source `touch`es a Service or Secret when a watch event changes it (an EndpointSlice touches
 * its Service), and calls `invalidateAll` on a relist or an IngressClass change.
 *
 * Checking an unchanged Ingress costs two comparisons: which Ingresses a touch affects is found once
 * per round, through the index of who read what. Reused parts are the same objects, so the config keeps
 * its identity where nothing changed: validation skips them and the proxy keeps their compiled balancers.
 * Entries a translation did not use are dropped when it ends.
 */
export class TranslationCache {
  #epoch = 0;
  #round = 0;
  readonly #generations = new Map<string, number>();
  readonly #services = new Map<string, ServiceEntry>();
  readonly #ingresses = new Map<string, IngressEntry>();
  /** #readers maps a dependency (`service:ns/name`, `secret:ns/name`) to the Ingresses that read it. */
  readonly #readers = new Map<string, Set<string>>();
  /** #touched are the dependencies touched since the last round began. */
  readonly #touched = new Set<string>();
  /** #stale are the Ingresses whose parts this round must make again. */
  #stale = new Set<string>();
  #assembly: Assembly | undefined;

  /** epoch changes whenever everything must be translated again. */
  get epoch(): number {
    return this.#epoch;
  }

  /** touch records that `key` (`ingress:ns/name`, `service:ns/name`, `secret:ns/name`) changed. */
  touch(key: string): void {
    this.#generations.set(key, (this.#generations.get(key) ?? 0) + 1);
    this.#touched.add(key);
  }

  invalidateAll(): void {
    this.#epoch++;
    this.#assembly = undefined;
    this.#generations.clear();
    this.#touched.clear();
  }

  generation(key: string): number {
    return this.#generations.get(key) ?? 0;
  }

  /** assembly is the last translation with what it was put together from, to patch the next one. */
  get assembly(): Assembly | undefined {
    return this.#assembly;
  }

  /**
   * beginRound starts a translation under `context` and returns the Ingresses (`namespace/name`) it must
   * look at again: those a watch event changed (`touch('ingress:...')`) and those that read a Service or
   * Secret that was touched; 'all' when the last assembly was made under another context.
   */
  beginRound(context: string): ReadonlySet<string> | 'all' {
    this.#round++;
    const stale = new Set<string>();
    for (const key of this.#touched) {
      if (key.startsWith(INGRESS)) stale.add(key.slice(INGRESS.length));
      else for (const reader of this.#readers.get(key) ?? []) stale.add(reader);
    }
    this.#touched.clear();
    // A round that did not end (an exclusion round retried) leaves its stale Ingresses stale.
    for (const key of this.#stale) stale.add(key);
    this.#stale = stale;
    return this.#assembly === undefined || this.#assembly.context !== context ? 'all' : stale;
  }

  service(name: string, signature: string): ServicePart | undefined {
    const entry = this.#services.get(name);
    if (entry === undefined || entry.value.signature !== signature) return undefined;
    entry.round = this.#round;
    return entry.value;
  }

  setService(name: string, part: ServicePart): void {
    this.#services.set(name, { value: part, round: this.#round });
  }

  /** ingress returns the part made from this very Ingress object under `context`, if nothing it read changed. */
  ingress(key: string, ingress: object, context: string): IngressPart | undefined {
    const entry = this.#ingresses.get(key);
    if (entry === undefined || entry.ingress !== ingress || entry.context !== context || this.#stale.has(key))
      return undefined;
    entry.round = this.#round;
    // Its services stay cached too, for other Ingresses that use them.
    for (const { name } of entry.value.services) {
      const service = this.#services.get(name);
      if (service !== undefined) service.round = this.#round;
    }
    return entry.value;
  }

  /**
   * setIngress caches a new part for an Ingress. When its routes are what the previous part made (a
   * change to the Ingress's status or labels only), the previous route objects are kept, and returned.
   */
  setIngress(key: string, ingress: object, context: string, part: IngressPart): IngressPart {
    const previous = this.#ingresses.get(key)?.value;
    const kept =
      previous !== undefined && previous.routesJson === part.routesJson
        ? { ...part, routes: previous.routes }
        : part;
    if (previous !== undefined)
      for (const dependency of previous.dependencies.keys()) this.#unread(dependency, key);
    for (const dependency of kept.dependencies.keys()) {
      let readers = this.#readers.get(dependency);
      if (readers === undefined) {
        readers = new Set();
        this.#readers.set(dependency, readers);
      }
      readers.add(key);
    }
    this.#stale.delete(key);
    this.#ingresses.set(key, { ingress, context, value: kept, round: this.#round });
    return kept;
  }

  /**
   * endRound keeps `assembly` for the next round. After a whole assembly (`sweep`), the entries it did
   * not use are forgotten; a patched one used every entry it did not replace.
   */
  endRound(assembly: Assembly, sweep: boolean): void {
    this.#assembly = assembly;
    this.#stale.clear();
    if (!sweep) return;
    for (const [key, entry] of this.#ingresses) {
      if (entry.round === this.#round) continue;
      this.#ingresses.delete(key);
      for (const dependency of entry.value.dependencies.keys()) this.#unread(dependency, key);
    }
    for (const [name, entry] of this.#services) if (entry.round !== this.#round) this.#services.delete(name);
  }

  #unread(dependency: string, key: string): void {
    const readers = this.#readers.get(dependency);
    readers?.delete(key);
    if (readers?.size === 0) this.#readers.delete(dependency);
  }
}
