import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { AdminSource } from '@portico/admin';
import type { ListenerConfig, PorticoConfig } from '@portico/config';
import { ENDPOINT_CHANNEL, type EndpointAvailability, type PorticoProxy } from '@portico/proxy';
import type { ChallengeAnswers } from '../acme/challenge-sink.ts';
import { ResolvedPorts } from './resolved-ports.ts';
import { WorkerChallenges } from './worker-challenges.ts';
import { WorkerConfigs } from './worker-config.ts';
import type { AcmeAnswers, EndpointVerdict } from './worker-messages.ts';
import { WorkerPool, type WorkerPoolOptions, type WorkerView } from './worker-pool.ts';
import { withWorkerViews } from './worker-views.ts';

/**
 * DataPlaneWorkers is what the primary of `portico run --workers N` does for its workers: it gives each
 * the config it serves (ports fixed, limits shared, the cookie secret; `workerConfig`), forwards the
 * health and maintenance verdicts its own proxy makes, and gathers their views for the admin API. The
 * primary's proxy never binds: it validates, checks health and answers the admin API's questions.
 */
export class DataPlaneWorkers {
  readonly #pool: WorkerPool;
  readonly #ports = new ResolvedPorts();
  readonly #configs: WorkerConfigs;
  readonly #stopVerdicts: () => void;
  #listeners: readonly ListenerConfig[] = [];

  private constructor(proxy: PorticoProxy, count: number, options: Omit<WorkerPoolOptions, 'verdicts'>) {
    this.#configs = new WorkerConfigs({
      workers: count,
      cookieSecret: randomBytes(32).toString('base64url'),
    });
    this.#pool = new WorkerPool(count, { ...options, verdicts: () => currentVerdicts(proxy) });
    // One set of TLS session ticket keys for all workers: a client resumes its session on whichever
    // worker the kernel hands its next connection to (each process would otherwise have its own).
    this.#pool.sendTicketKeys(randomBytes(48));
    this.#stopVerdicts = forwardVerdicts(this.#pool);
  }

  /** start forks `count` workers serving the proxy's config and resolves once all of them listen. */
  static async start(
    proxy: PorticoProxy,
    count: number,
    options: Omit<WorkerPoolOptions, 'verdicts'>,
  ): Promise<DataPlaneWorkers> {
    const workers = new DataPlaneWorkers(proxy, count, options);
    try {
      const config = await workers.#forWorkers(proxy.snapshot.config);
      await workers.#pool.start(proxy.snapshot.version, config);
    } catch (error) {
      await workers.drain(0);
      throw error;
    }
    return workers;
  }

  /** acmeChallenges are the ACME challenge answers every worker gives. */
  readonly acmeChallenges: ChallengeAnswers = new WorkerChallenges(this);

  /** sendAcme gives every worker the ACME challenge answers in force (see WorkerChallenges). */
  sendAcme(answers: AcmeAnswers): void {
    this.#pool.sendAcme(answers);
  }

  /** listeners are the listeners the workers bind, their ports fixed. */
  get listeners(): readonly ListenerConfig[] {
    return this.#listeners;
  }

  /** apply gives every worker `config` (version `version`); resolves when all of them serve it. */
  async apply(version: number, config: PorticoConfig): Promise<void> {
    await this.#pool.apply(version, await this.#forWorkers(config));
  }

  /** workers describes each worker, for `/status`. */
  workers(): WorkerView[] {
    return this.#pool.workers();
  }

  /** adminSource is `source` with the data plane's views added up over the workers. */
  adminSource(source: AdminSource): AdminSource {
    return withWorkerViews(source, this.#pool);
  }

  /** reopenLogs asks every worker to open its access log file again. */
  reopenLogs(): void {
    this.#pool.reopenLogs();
  }

  /** drain stops forwarding verdicts and drains every worker. */
  async drain(drainTimeoutMs: number): Promise<void> {
    this.#stopVerdicts();
    await this.#pool.drain(drainTimeoutMs);
  }

  async #forWorkers(config: PorticoConfig): Promise<PorticoConfig> {
    const resolved = this.#configs.of(await this.#ports.resolve(config));
    this.#listeners = resolved.listeners;
    return resolved;
  }
}

/**
 * forwardVerdicts sends the workers each availability change the primary's proxy makes (its health
 * checks, an operator disabling an endpoint); returns the unsubscriber.
 */
function forwardVerdicts(pool: WorkerPool): () => void {
  const onChange = (message: unknown) => {
    const change = message as EndpointAvailability;
    const base = { service: change.service, endpoint: change.endpoint };
    if (change.reason === 'health-check')
      pool.sendVerdicts([
        { ...base, healthy: change.available, ...(change.detail ? { detail: change.detail } : {}) },
      ]);
    else if (change.reason === 'disabled' || change.reason === 'enabled')
      pool.sendVerdicts([{ ...base, disabled: !change.available }]);
  };
  subscribe(ENDPOINT_CHANNEL, onChange);
  return () => unsubscribe(ENDPOINT_CHANNEL, onChange);
}

/** currentVerdicts lists the endpoints the primary has out of rotation, for a worker that (re)starts. */
function currentVerdicts(proxy: PorticoProxy): EndpointVerdict[] {
  const verdicts: EndpointVerdict[] = [];
  for (const service of proxy.snapshot.services.values())
    for (const endpoint of service.endpoints)
      if (!endpoint.healthy || endpoint.disabled)
        verdicts.push({
          service: service.name,
          endpoint: endpoint.key,
          healthy: endpoint.healthy,
          disabled: endpoint.disabled,
        });
  return verdicts;
}
