import { readFile } from 'node:fs/promises';
import type { AcmeHostView } from '@portico/admin';
import type { AcmeConfig, CertificateConfig, PorticoConfig } from '@portico/config';
import type { Logger } from 'pino';
import { orderCertificate } from './acme-order.ts';
import { AcmeStore } from './acme-store.ts';
import type { ChallengeSink } from './challenge-sink.ts';
import { type OrderAttempts, orderFailed, orderSucceeded } from './order-backoff.ts';
import { RenewalInfo } from './renewal-info.ts';

/** StaticAcmeConfig is `acme` as a static config has it: with the hosts and the storage directory. */
export type StaticAcmeConfig = AcmeConfig & {
  readonly storageDir: string;
  readonly hosts: readonly string[];
};

/** HostState is what the manager knows of one host between checks. */
interface HostState extends OrderAttempts {
  issued: number;
  notAfter: string | undefined;
  /** renewAt is when the current certificate is due for renewal (ARI window or `renewAtRatio`). */
  renewAt: string | undefined;
  ordering: boolean;
}

/**
 * AcmeManager gets and renews certificates for `acme.hosts` from an ACME CA (RFC 8555, through
 * acme-client): it proves each host with HTTP-01 or TLS-ALPN-01, answered by the data plane itself
 * (before any route or redirect); stores the account key, certificates and keys on disk (`AcmeStore`);
 * renews within the CA's ARI window when it offers one, else at `renewAtRatio` of a certificate's
 * lifetime (`RenewalInfo`); after a failure it waits `retryMinMs`, doubled each time up to 6 hours,
 * and the last good certificate keeps serving. `withCertificates` adds the stored
 * certificates to a config; `onIssued` is told when one is new, so the config is applied again.
 */
export class AcmeManager {
  readonly config: StaticAcmeConfig;
  readonly store: AcmeStore;
  readonly #log: Logger;
  readonly #onIssued: () => void;
  readonly #hosts = new Map<string, HostState>();
  #sink: ChallengeSink | undefined;
  readonly #renewal: RenewalInfo;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> = Promise.resolve();
  #stopped = false;
  /** orders counts orders started (the tests read it: a restart with stored certificates orders none). */
  orders = 0;

  constructor(config: StaticAcmeConfig, log: Logger, onIssued: () => void) {
    this.config = config;
    this.store = new AcmeStore(config.storageDir);
    this.#log = log;
    this.#onIssued = onIssued;
    this.#renewal = new RenewalInfo(config.directoryUrl, config.caFile);
    for (const host of config.hosts)
      this.#hosts.set(host, {
        failures: 0,
        issued: 0,
        failed: 0,
        lastError: undefined,
        notAfter: undefined,
        renewAt: undefined,
        retryAt: 0,
        ordering: false,
      });
  }

  /** withCertificates adds the stored certificates (those on disk now) to `config`'s certificates. */
  async withCertificates(config: PorticoConfig): Promise<PorticoConfig> {
    const stored: CertificateConfig[] = [];
    for (const host of this.config.hosts) {
      const found = await this.store.read(host);
      if (found === undefined) continue;
      stored.push({ name: `acme:${host}`, certFile: found.certFile, keyFile: found.keyFile, hosts: [host] });
    }
    return stored.length === 0 ? config : { ...config, certificates: [...config.certificates, ...stored] };
  }

  /** start begins checking (now, then every `checkIntervalMs`), answering challenges through `sink`. */
  start(sink: ChallengeSink): void {
    this.#sink = sink;
    this.check();
    this.#timer = setInterval(
      () => this.check(),
      Math.min(this.config.checkIntervalMs, this.config.retryMinMs),
    );
    this.#timer.unref();
  }

  /** check orders a certificate for each host that has none, or whose renewal is due (one check at a time). */
  check(): Promise<void> {
    this.#checking = this.#checking.then(() => this.#check()).catch(() => {});
    return this.#checking;
  }

  async #check(): Promise<void> {
    const now = Date.now();
    for (const [host, state] of this.#hosts) {
      if (this.#stopped || state.ordering || now < state.retryAt) continue;
      const stored = await this.store.read(host);
      state.notAfter = stored?.notAfter.toISOString();
      if (stored !== undefined) {
        const life = stored.notAfter.getTime() - stored.notBefore.getTime();
        const fallback = stored.notBefore.getTime() + life * this.config.renewAtRatio;
        const due = await this.#renewal.dueAt(await readFile(stored.certFile, 'utf8'), fallback);
        state.renewAt = new Date(due).toISOString();
        if (now < due) continue;
      }
      state.ordering = true;
      try {
        const notAfter = await this.#order(host, stored === undefined ? 'issue' : 'renew');
        if (notAfter !== undefined) {
          state.issued++;
          state.notAfter = notAfter;
          state.lastError = undefined;
        }
        orderSucceeded(state);
      } catch (error) {
        const wait = orderFailed(state, error as Error, this.config.retryMinMs);
        this.#log.warn(
          { host, failures: state.failures, retryInMs: wait, err: (error as Error).message },
          `ACME order for ${host} failed: ${(error as Error).message}; ${stored === undefined ? 'the default certificate serves it' : 'its current certificate keeps serving'}, next try in ${Math.round(wait / 1000)} s`,
        );
      } finally {
        state.ordering = false;
      }
    }
  }

  /** #order gets a certificate for `host` and returns its notAfter, or undefined when another instance holds the lock. */
  async #order(host: string, why: 'issue' | 'renew'): Promise<string | undefined> {
    const release = await this.store.lock(host);
    if (release === undefined) {
      this.#log.info({ host }, `ACME: another instance is ordering ${host}; this one waits`);
      return undefined;
    }
    try {
      this.orders++;
      this.#log.info({ host, why }, `ACME: ordering a certificate for ${host} (${why})`);
      const { cert, key } = await orderCertificate(host, {
        directoryUrl: this.config.directoryUrl,
        email: this.config.email,
        caFile: this.config.caFile,
        accountKey: (create) => this.store.accountKey(create),
        challenge: this.config.challenge,
        challenges: this.#sink!,
      });
      await this.store.write(host, cert, key);
      const stored = await this.store.read(host);
      this.#log.info(
        { host, notAfter: stored?.notAfter.toISOString(), serialNumber: stored?.serialNumber },
        `ACME: certificate for ${host} ${why === 'issue' ? 'issued' : 'renewed'}, valid until ${stored?.notAfter.toISOString()}`,
      );
      this.#onIssued();
      return stored?.notAfter.toISOString();
    } finally {
      await release();
    }
  }

  /** view describes each host for the admin API and metrics. */
  view(): AcmeHostView[] {
    return [...this.#hosts].map(([host, s]) => ({
      host,
      issued: s.issued,
      failed: s.failed,
      lastError: s.lastError,
      notAfter: s.notAfter,
      renewAt: s.renewAt,
    }));
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    void this.#renewal.close();
  }
}
