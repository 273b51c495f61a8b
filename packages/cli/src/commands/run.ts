import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { availableParallelism } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type { AdminServer } from '@portico/admin';
import type { AcmeConfig } from '@portico/config';
import type { KubernetesDiscovery } from '@portico/discovery';
import { type Discovery, formatProblem, StaticFileDiscovery } from '@portico/discovery/file';
import {
  createProxy,
  ENDPOINT_CHANNEL,
  type EndpointAvailability,
  LatencyHistogram,
  type PorticoProxy,
  RATE_LIMIT_STORE_CHANNEL,
  type RateLimitStoreEvent,
  type Snapshot,
} from '@portico/proxy';
import type { Logger } from 'pino';
import { accessLogProblem, startAccessLog } from '../access-log.ts';
import type { AccessLogFormat } from '../access-log-format.ts';
import type { AcmeManager } from '../acme/acme-manager.ts';
import { type ChallengeAnswers, type ChallengeSink, proxySink } from '../acme/challenge-sink.ts';
import type { KubernetesAcme } from '../acme/kubernetes-acme.ts';
import { checkFiles } from '../check-files.ts';
import { withRouteCheck } from '../check-routes.ts';
import { changeCounts, configChange, describeChange } from '../config-change.ts';
import type { KubernetesRunOptions } from '../kubernetes-source.ts';
import { logOcsp } from '../log-ocsp.ts';
import { logStoreState } from '../log-store-state.ts';
import { HISTORY_SIZE, type RunState, remember, TIMELINE_SIZE } from '../run-state.ts';
import { TraceExport } from '../trace-export.ts';
import type { DataPlaneWorkers } from '../workers/data-plane-workers.ts';

/** RunOptions are the options of `portico run`: a config file, or Kubernetes (with an optional base file). */
export interface RunOptions {
  /** config is the config file; with `kubernetes`, the base the cluster's routes are added to. */
  readonly config?: string;
  /** kubernetes serves the cluster's Ingresses (`portico run --kubernetes`). */
  readonly kubernetes?: KubernetesRunOptions;
  /** accessLog writes one JSON line per request: to a file, or `-` for standard output. */
  readonly accessLog?: string;
  /** accessLogSample is the share of requests logged (errors always are): 1 by default. */
  readonly accessLogSample?: number;
  /** accessLogFormat is how lines look: json (default), combined, console, or a `$variable` template. */
  readonly accessLogFormat?: AccessLogFormat;
  /** workers overrides the config's `workers`: data-plane processes, or `auto` for one per core. */
  readonly workers?: number | 'auto';
}

/** RunningPortico is a started Portico: its proxy, and `stop` to drain and shut down. */
export interface RunningPortico {
  readonly proxy: PorticoProxy;
  /** kubernetes is the Kubernetes source, when running as an ingress controller. */
  readonly kubernetes: KubernetesDiscovery | undefined;
  /** adminUrl is where the admin API listens, when the config has an `admin` section. */
  readonly adminUrl: string | undefined;
  /** reopenLogs opens the access log file again by its name, here and in every worker (SIGUSR1). */
  reopenLogs(): void;
  stop(drainTimeoutMs?: number): Promise<void>;
}

/** ConfigRejectedError says the config given at start-up was invalid; its problems were logged. */
export class ConfigRejectedError extends Error {}

/**
 * startPortico loads the config (file, or Kubernetes objects over a base file), binds its listeners and
 * follows the source: each valid change is applied at once; an invalid one is logged and the last good
 * config keeps serving.
 */
export async function startPortico(options: RunOptions, log: Logger): Promise<RunningPortico> {
  let proxy: PorticoProxy | undefined;
  /** workers are the data-plane processes, with `workers` above 1 (the proxy then binds nothing). */
  let workers: DataPlaneWorkers | undefined;
  let startError: Error | undefined;
  let discovery: Discovery & { reload(force?: boolean): Promise<void> };
  let kubernetes: KubernetesDiscovery | undefined;
  const templateProblem = accessLogProblem(options.accessLogFormat);
  if (templateProblem !== undefined) throw new ConfigRejectedError(templateProblem);
  const accessLogOptions =
    options.accessLog === undefined
      ? undefined
      : {
          destination: options.accessLog,
          sampleRate: options.accessLogSample ?? 1,
          ...(options.accessLogFormat === undefined ? {} : { format: options.accessLogFormat }),
        };
  // Spans of the requests this process serves (with workers, each worker exports its own).
  const traces = new TraceExport((message) => log.warn(message));
  /**
   * acme gets and renews the certificates of `acme.hosts` (loaded only when configured); a config whose
   * `acme` differs replaces it, a config without one stops it. acmeSink is where its challenge answers
   * go, once the data plane runs.
   */
  let acme: AcmeManager | undefined;
  let acmeSink: ChallengeSink | undefined;
  /** kubernetesAcme is acme with --kubernetes, with the settings it runs with; acmeAnswers its answers' home. */
  let kubernetesAcme: { controller: KubernetesAcme; settings: AcmeConfig } | undefined;
  let acmeAnswers: ChallengeAnswers | undefined;
  /** syncKubernetesAcme starts, replaces or stops the Kubernetes ACME controller for `settings`. */
  const syncKubernetesAcme = async (settings: AcmeConfig | undefined) => {
    if (kubernetes === undefined || acmeAnswers === undefined) return;
    if (kubernetesAcme !== undefined && isDeepStrictEqual(kubernetesAcme.settings, settings)) return;
    if (kubernetesAcme !== undefined) {
      log.info(
        settings === undefined ? 'acme: no longer configured' : 'acme: settings changed; applying them now',
      );
      await kubernetesAcme.controller.stop();
      kubernetesAcme = undefined;
      delete state.acme;
    }
    if (settings === undefined) return;
    const { KubernetesAcme } = await import('../acme/kubernetes-acme.ts');
    const controller = new KubernetesAcme(settings, kubernetes, log);
    kubernetesAcme = { controller, settings };
    state.acme = () => controller.view();
    controller.start(acmeAnswers);
  };
  if (options.kubernetes !== undefined) {
    // The Kubernetes source's modules load only in this mode.
    const { createKubernetesDiscovery } = await import('../kubernetes-source.ts');
    kubernetes = await createKubernetesDiscovery(options.kubernetes, options.config, log);
    discovery = kubernetes;
  } else if (options.config !== undefined) {
    discovery = new StaticFileDiscovery(options.config, { check: withRouteCheck });
  } else {
    throw new ConfigRejectedError('portico run needs --config <file> or --kubernetes');
  }
  const state: RunState = {
    source: options.config ?? 'kubernetes',
    appliedAt: new Date(),
    applies: 0,
    refused: 0,
    lastProblems: [],
    ready: false,
    lastApplyMs: 0,
    startedAt: Date.now(),
    convergence: new LatencyHistogram(),
    kubernetes,
    timeline: [],
    history: [],
  };
  await discovery.start(async (received) => {
    let update = received;
    if (update.ok && proxy === undefined) {
      // The first config must hold what it names: run refuses to start on a missing or mismatched file.
      const problems = checkFiles(update.config, update.locate);
      if (problems.length > 0) update = { ok: false, problems, source: update.source };
    }
    if (!update.ok) {
      for (const problem of update.problems)
        log.error({ code: problem.code, where: problem.where, path: problem.path }, formatProblem(problem));
      state.lastProblems = update.problems;
      state.refused++;
      if (proxy === undefined) startError = new ConfigRejectedError(`${update.source} is invalid`);
      else log.warn({ source: update.source }, 'config rejected; the last good config keeps serving');
      return;
    }
    if (update.ok && update.config.acme === undefined) await syncKubernetesAcme(undefined);
    if (update.ok && update.config.acme === undefined && acme !== undefined) {
      acme.stop();
      acme = undefined;
      delete state.acme;
      log.info('acme: no longer configured; certificates already stored are no longer served or renewed');
    }
    if (update.ok && update.config.acme !== undefined) {
      // Certificates already stored serve from the first config on; new ones come with a reload.
      const settings = update.config.acme;
      if (kubernetes !== undefined) {
        // With --kubernetes, certificates live in Secrets the Ingresses name: KubernetesAcme.
        await syncKubernetesAcme(settings);
      } else if (settings.storageDir === undefined || settings.hosts === undefined) {
        const problem = 'acme: a static config needs acme.hosts and acme.storageDir';
        if (proxy === undefined) startError = new ConfigRejectedError(problem);
        log.error(problem);
        return;
      } else {
        const wanted = { ...settings, storageDir: settings.storageDir, hosts: settings.hosts };
        if (acme === undefined || !isDeepStrictEqual(acme.config, wanted)) {
          const { AcmeManager } = await import('../acme/acme-manager.ts');
          if (acme !== undefined)
            log.info({ hosts: wanted.hosts }, 'acme: settings changed; applying them now');
          acme?.stop();
          const manager = new AcmeManager(wanted, log, () => void discovery.reload(true));
          acme = manager;
          if (acmeSink !== undefined) {
            state.acme = () => manager.view();
            manager.start(acmeSink);
          }
        }
        update = { ...update, config: await acme.withCertificates(update.config) };
      }
    }
    const applied = () => {
      state.lastProblems = [];
      state.applies++;
      state.appliedAt = new Date();
      state.source = update.source;
    };
    if (proxy === undefined) {
      proxy = createProxy(update.config);
      applied();
      reportRouteIssues(proxy, kubernetes);
      logTlsIssues(proxy, log);
      logCertificatesLoaded(undefined, proxy.snapshot, log);
      remember(
        state.history,
        {
          version: proxy.snapshot.version,
          at: new Date().toISOString(),
          source: update.source,
          summary: describeChange(configChange(undefined, proxy.snapshot.config)),
        },
        HISTORY_SIZE,
      );
      return;
    }
    const started = performance.now();
    const before = proxy.snapshot;
    try {
      const snapshot = await proxy.apply(update.config);
      await workers?.apply(snapshot.version, update.config);
      applied();
      const now = performance.now();
      const applyMs = Math.round((now - started) * 1000) / 1000;
      state.lastApplyMs = applyMs;
      // Convergence: from the watch event's arrival to the route being live in the data plane.
      if (update.receivedAt !== undefined) state.convergence.observe(now - update.receivedAt);
      reportRouteIssues(proxy, kubernetes);
      const change = configChange(before.config, snapshot.config);
      remember(
        state.history,
        {
          version: snapshot.version,
          at: new Date().toISOString(),
          source: update.source,
          summary: describeChange(change),
        },
        HISTORY_SIZE,
      );
      // The message stays `config applied` (alerts match it); what changed is in `summary` and `changes`.
      log.info(
        {
          source: update.source,
          version: snapshot.version,
          applyMs,
          summary: describeChange(change),
          changes: changeCounts(change),
        },
        'config applied',
      );
      logTlsIssues(proxy, log);
      logCertificatesLoaded(before, snapshot, log);
      if (workers === undefined) void traces.update(snapshot.config.tracing);
    } catch (error) {
      // Nothing of it was applied (prepare failed): report it as a refused config.
      const code = (error as { code?: string }).code ?? 'PORTICO_APPLY_FAILED';
      state.lastProblems = [{ code, where: update.source, path: '', message: (error as Error).message }];
      state.refused++;
      log.error(
        { code, source: update.source },
        `${(error as Error).message}; the last good config keeps serving`,
      );
    }
  });
  if (proxy === undefined) {
    await discovery.stop();
    throw startError ?? new ConfigRejectedError(`${options.config ?? 'the Kubernetes config'} is invalid`);
  }
  const running: PorticoProxy = proxy;
  const wanted = options.workers ?? running.snapshot.config.workers;
  const count = wanted === 'auto' ? availableParallelism() : wanted;
  try {
    if (count === 1) {
      for (const listener of await running.listen())
        log.info(listener, `listening on ${listener.protocol}://${listener.address}:${listener.port}`);
    } else {
      // The primary keeps the proxy for what it owns (validation, health checks, the admin API's view)
      // and never binds; the workers serve.
      const accessLog = accessLogOptions === undefined ? {} : { accessLog: accessLogOptions };
      // The workers' modules load only when there are workers.
      const { DataPlaneWorkers } = await import('../workers/data-plane-workers.ts');
      workers = await DataPlaneWorkers.start(running, count, { main: process.argv[1]!, log, ...accessLog });
      const started = workers;
      state.workers = () => started.workers();
      for (const listener of workers.listeners) {
        const fields = { name: listener.name, protocol: listener.protocol, address: listener.address };
        log.info(
          { ...fields, port: listener.port, workers: count },
          `listening on ${listener.protocol}://${listener.address}:${listener.port} (${count} workers)`,
        );
      }
    }
  } catch (error) {
    await discovery.stop();
    await running.close({ drainTimeoutMs: 0 });
    throw error;
  }
  state.ready = true;
  let admin: AdminServer | undefined;
  const adminConfig = running.snapshot.config.admin;
  if (adminConfig !== undefined) {
    const { adminSource } = await import('../admin-adapter.ts');
    const source = adminSource(running, state, {
      drain: async () => {
        await workers?.drain(running.snapshot.config.shutdown.drainTimeoutMs);
        await running.close();
      },
      reload: () => discovery.reload(),
    });
    // Loaded only when configured, after the proxy serves (Fastify and prom-client are ~140 modules).
    const { startAdminServer } = await import('@portico/admin');
    // With workers, the data plane's counters are theirs, added up when the admin API is asked.
    admin = await startAdminServer(workers?.adminSource(source) ?? source, adminConfig);
    log.info({ url: admin.url }, `admin API on ${admin.url}`);
  }
  const stopAvailabilityLog = logAvailability(log, state);
  const onStore = (message: unknown) => {
    const { state, message: text } = message as RateLimitStoreEvent;
    logStoreState(log, state, text, {});
  };
  subscribe(RATE_LIMIT_STORE_CHANNEL, onStore);
  const stopOcspLog = logOcsp(log);
  if (workers === undefined) await traces.update(running.snapshot.config.tracing);
  // With workers, every worker gives the challenge answers: the CA's validation may reach any of them.
  const answers = workers?.acmeChallenges ?? running.acmeChallenges;
  acmeAnswers = answers;
  await syncKubernetesAcme(running.snapshot.config.acme);
  acmeSink = proxySink(answers);
  if (acme !== undefined) {
    const manager = acme;
    state.acme = () => manager.view();
    acme.start(acmeSink);
  }
  // With workers, each writes its own requests (the primary serves none).
  const accessLog =
    accessLogOptions === undefined || workers !== undefined ? undefined : startAccessLog(accessLogOptions);
  return {
    proxy: running,
    kubernetes,
    adminUrl: admin?.url,
    reopenLogs() {
      accessLog?.reopen();
      workers?.reopenLogs();
    },
    async stop(drainTimeoutMs) {
      // Listeners close synchronously inside close(), before anything here awaits: no new connection
      // is accepted from the moment stop() is called.
      const closing = running.close(drainTimeoutMs === undefined ? {} : { drainTimeoutMs });
      const draining = workers?.drain(drainTimeoutMs ?? running.snapshot.config.shutdown.drainTimeoutMs);
      await discovery.stop();
      await closing;
      await draining;
      await admin?.close();
      acme?.stop();
      await kubernetesAcme?.controller.stop();
      accessLog?.stop();
      await traces.stop();
      stopAvailabilityLog();
      unsubscribe(RATE_LIMIT_STORE_CHANNEL, onStore);
      stopOcspLog();
    },
  };
}

/**
 * logAvailability logs each endpoint that stops taking requests (warn: failed health checks, ejection,
 * maintenance) or takes them again (info), from `portico:endpoint:availability`; returns the unsubscriber.
 */
function logAvailability(log: Logger, state: RunState): () => void {
  const onChange = (message: unknown) => {
    const change = message as EndpointAvailability;
    remember(
      state.timeline,
      {
        at: new Date().toISOString(),
        service: change.service,
        endpoint: change.endpoint,
        available: change.available,
        reason: change.reason,
        detail: change.detail,
      },
      TIMELINE_SIZE,
    );
    const fields = {
      service: change.service,
      endpoint: change.endpoint,
      reason: change.reason,
      detail: change.detail,
    };
    const text = `endpoint ${change.endpoint} of service "${change.service}"`;
    if (change.available) log.info(fields, `${text} takes requests again (${change.reason})`);
    else
      log.warn(
        fields,
        `${text} is out of rotation (${change.reason}${change.detail === undefined ? '' : `: ${change.detail}`})`,
      );
  };
  subscribe(ENDPOINT_CHANNEL, onChange);
  return () => unsubscribe(ENDPOINT_CHANNEL, onChange);
}

/**
 * reportRouteIssues tells the Kubernetes source which of its rules the router left out or shadowed, and
 * which of its certificates (TLS Secrets) the certificate store refused, so both show on their Ingresses.
 */
function reportRouteIssues(proxy: PorticoProxy, kubernetes: KubernetesDiscovery | undefined): void {
  if (kubernetes === undefined) return;
  const { routeIssues, tls, config } = proxy.snapshot;
  const certificateIssues = tls.issues.flatMap((issue) => {
    const i = config.certificates.findIndex((c) => c.name === issue.certificate);
    return issue.severity === 'error' && i >= 0
      ? [
          {
            code: issue.code,
            path: `certificates[${i}]`,
            message: `certificate "${issue.certificate}": ${issue.message}`,
          },
        ]
      : [];
  });
  kubernetes.reportRouteIssues([
    ...routeIssues.map((issue) => ({ code: issue.code, path: issue.at, message: issue.message })),
    ...certificateIssues,
  ]);
}

/** logTlsIssues logs the certificate problems of the current snapshot: refusals as errors, expiry as warnings. */
/**
 * logCertificatesLoaded logs each certificate a snapshot serves that the one before did not (new, or a
 * new version of it): its name, subject, issuer, names and expiry.
 */
function logCertificatesLoaded(before: Snapshot | undefined, after: Snapshot, log: Logger): void {
  const served = new Map(before?.tls.certificates.map((c) => [c.name, c.info.fingerprint256]) ?? []);
  for (const c of after.tls.certificates) {
    if (c.stale || served.get(c.name) === c.info.fingerprint256) continue;
    const days = Math.floor((c.info.notAfter.getTime() - Date.now()) / 86_400_000);
    log.info(
      {
        certificate: c.name,
        subject: c.info.subject,
        issuer: c.info.issuer,
        hosts: c.hosts,
        notAfter: c.info.notAfter.toISOString(),
        fingerprint256: c.info.fingerprint256,
      },
      `certificate "${c.name}" loaded: ${c.info.dnsNames.slice(0, 5).join(', ')}, expires in ${days} days`,
    );
  }
}

function logTlsIssues(proxy: PorticoProxy, log: Logger): void {
  for (const issue of proxy.snapshot.tls.issues) {
    const fields = { code: issue.code, certificate: issue.certificate };
    const message = `certificate "${issue.certificate}": ${issue.message}`;
    if (issue.severity === 'warning') log.warn(fields, message);
    else log.error(fields, `${message}; its previous version (or the default certificate) keeps serving`);
  }
}
