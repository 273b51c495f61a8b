import type { KubeApiError, KubeClient } from './kube-client.ts';

/** LeaseElectionOptions follow client-go's leaderelection; the defaults are its defaults. */
export interface LeaseElectionOptions {
  readonly namespace: string;
  /** name of the coordination.k8s.io/v1 Lease: `portico-leader` by default. */
  readonly name: string;
  /** identity is this instance's name in the Lease (the pod name). */
  readonly identity: string;
  /** leaseDurationMs is how long followers wait after the last renewal they saw: 15 s by default. */
  readonly leaseDurationMs: number;
  /** renewDeadlineMs: a leader that could not renew for this long stops leading: 10 s by default. */
  readonly renewDeadlineMs: number;
  /** retryPeriodMs is the time between two attempts to acquire or renew: 2 s by default. */
  readonly retryPeriodMs: number;
}

export const DEFAULT_LEASE_NAME = 'portico-leader';
export const DEFAULT_LEASE_TIMING = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

interface Lease {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** microTime formats a time as the API's MicroTime (RFC 3339 with microseconds). */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

/**
 * LeaseElection elects one leader among instances through a Lease, as client-go does: the holder renews
 * every `retryPeriodMs`; the others take over once they have seen no renewal for `leaseDurationMs`
 * (measured on their own clock, so clock skew does not matter); every write carries the Lease's
 * resourceVersion, so of two instances racing, one gets 409 Conflict and stays a follower.
 */
export class LeaseElection {
  readonly options: LeaseElectionOptions;
  #leading = false;
  readonly #client: KubeClient;
  readonly #onChange: (leading: boolean) => void;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastRenewed = 0;
  /** #observed is the last holder and renew time seen, and when this instance saw them change. */
  #observed = { holder: '', renewTime: '', at: 0 };
  #running: Promise<void> = Promise.resolve();
  lastError: string | undefined;

  constructor(client: KubeClient, options: LeaseElectionOptions, onChange: (leading: boolean) => void) {
    this.#client = client;
    this.options = options;
    this.#onChange = onChange;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** holder is the identity of the leader as last seen. */
  get holder(): string {
    return this.#observed.holder;
  }

  start(): void {
    this.#tick();
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#running = this.#attempt().finally(() => {
      if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), this.options.retryPeriodMs);
    });
  }

  #path(name?: string): string {
    const ns = encodeURIComponent(this.options.namespace);
    return `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.#onChange(leading);
  }

  async #attempt(): Promise<void> {
    const now = Date.now();
    try {
      if (await this.#tryAcquireOrRenew(now)) {
        this.#lastRenewed = now;
        this.lastError = undefined;
        this.#setLeading(true);
        return;
      }
      this.#setLeading(false);
    } catch (error) {
      this.lastError = (error as Error).message;
      if (this.#leading && Date.now() - this.#lastRenewed > this.options.renewDeadlineMs)
        this.#setLeading(false);
    }
  }

  async #tryAcquireOrRenew(now: number): Promise<boolean> {
    const { name, identity, leaseDurationMs } = this.options;
    const durationSeconds = Math.max(1, Math.round(leaseDurationMs / 1000));
    let lease: Lease;
    try {
      lease = await this.#client.json<Lease>({
        path: this.#path(name),
        timeoutMs: this.options.retryPeriodMs * 2,
      });
    } catch (error) {
      if ((error as KubeApiError).status !== 404) throw error;
      await this.#client.json({
        method: 'POST',
        path: this.#path(),
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace: this.options.namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        },
      });
      this.#observed = { holder: identity, renewTime: microTime(now), at: now };
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime ?? '';
    if (holder !== this.#observed.holder || renewTime !== this.#observed.renewTime)
      this.#observed = { holder, renewTime, at: now };
    const heldByOther = holder !== '' && holder !== identity;
    const durationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && this.#observed.at + durationMs > now) return false;
    try {
      await this.#client.json({
        method: 'PUT',
        path: this.#path(name),
        body: {
          ...lease,
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: holder === identity ? (spec.acquireTime ?? microTime(now)) : microTime(now),
            renewTime: microTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
          },
        },
      });
    } catch (error) {
      if ((error as KubeApiError).status === 409) return false;
      throw error;
    }
    this.#observed = { holder: identity, renewTime: microTime(now), at: now };
    return true;
  }

  /** stop ends the election; a leader releases the Lease so another instance takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
    if (!this.#leading) return;
    this.#setLeading(false);
    try {
      const lease = await this.#client.json<Lease>({ path: this.#path(this.options.name), timeoutMs: 2_000 });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      await this.#client.json({
        method: 'PUT',
        path: this.#path(this.options.name),
        timeoutMs: 2_000,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            renewTime: microTime(Date.now()),
          },
        },
      });
    } catch {
      // Best effort: the Lease expires by itself.
    }
  }
}
