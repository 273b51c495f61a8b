import type { PorticoConfigInput } from '@portico/config';
import type { KubeIssue, KubernetesIssueCode } from './kube-issue.ts';

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
}

interface Entry<T> {
  readonly signature: string;
  readonly value: T;
}

/**
 * TranslationCache lets a translation reuse what the previous one made from objects that did not change:
 * each Ingress's part (while the Ingress's resourceVersion and the generations of the Services and Secrets
 * it read are the same) and each backend's service (same for the Service and its EndpointSlices). The
 * Kubernetes source `touch`es a Service's or Secret's generation when a watch event changes it (an
 * EndpointSlice touches its Service), and calls `invalidateAll` on a relist or an IngressClass change.
 *
 * Reused parts are the same objects, so the config keeps its identity where nothing changed: validation
 * skips them and the proxy keeps their compiled balancers. Entries a translation did not use are dropped.
 */
export class TranslationCache {
  #epoch = 0;
  readonly #generations = new Map<string, number>();
  #services = new Map<string, Entry<ServicePart>>();
  #nextServices = new Map<string, Entry<ServicePart>>();
  #ingresses = new Map<string, Entry<IngressPart>>();
  #nextIngresses = new Map<string, Entry<IngressPart>>();

  /** epoch changes whenever everything must be translated again. */
  get epoch(): number {
    return this.#epoch;
  }

  /** touch records that `key` (`service:ns/name`, `secret:ns/name`) changed. */
  touch(key: string): void {
    this.#generations.set(key, (this.#generations.get(key) ?? 0) + 1);
  }

  invalidateAll(): void {
    this.#epoch++;
    this.#generations.clear();
  }

  generation(key: string): number {
    return this.#generations.get(key) ?? 0;
  }

  service(name: string, signature: string): ServicePart | undefined {
    const entry = this.#nextServices.get(name) ?? this.#services.get(name);
    if (entry === undefined || entry.signature !== signature) return undefined;
    this.#nextServices.set(name, entry);
    return entry.value;
  }

  setService(name: string, part: ServicePart): void {
    this.#nextServices.set(name, { signature: part.signature, value: part });
  }

  /** ingress returns the Ingress's part if its signature matches and none of its dependencies changed. */
  ingress(key: string, signature: string): IngressPart | undefined {
    const entry = this.#nextIngresses.get(key) ?? this.#ingresses.get(key);
    if (entry === undefined || entry.signature !== signature) return undefined;
    for (const [dependency, generation] of entry.value.dependencies)
      if (this.generation(dependency) !== generation) return undefined;
    this.#nextIngresses.set(key, entry);
    // Its services stay cached too, for other Ingresses that use them.
    for (const { name, part } of entry.value.services)
      this.#nextServices.set(name, { signature: part.signature, value: part });
    return entry.value;
  }

  /**
   * setIngress caches a new part for an Ingress. When its routes are what the previous part made (a
   * change to the Ingress's status or labels only), the previous route objects are kept, and returned.
   */
  setIngress(key: string, signature: string, part: IngressPart): IngressPart {
    const previous = this.#ingresses.get(key)?.value;
    const kept =
      previous !== undefined && previous.routesJson === part.routesJson
        ? { ...part, routes: previous.routes }
        : part;
    this.#nextIngresses.set(key, { signature, value: kept });
    return kept;
  }

  /** endRound forgets the entries this translation did not use. */
  endRound(): void {
    this.#services = this.#nextServices;
    this.#nextServices = new Map();
    this.#ingresses = this.#nextIngresses;
    this.#nextIngresses = new Map();
  }
}
