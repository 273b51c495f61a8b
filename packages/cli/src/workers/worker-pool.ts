import { type ChildProcess, fork } from 'node:child_process';
import type { WorkerStatusView } from '@portico/admin';
import type { PorticoConfig } from '@portico/config';
import type { Logger } from 'pino';
import type { AccessLogOptions } from '../access-log.ts';
import { logOcspEvent } from '../log-ocsp.ts';
import { logStoreState } from '../log-store-state.ts';
import { diffConfig } from './config-delta.ts';
import {
  ACCESS_LOG_ENV,
  type AcmeAnswers,
  type DataPlaneViews,
  type EndpointVerdict,
  type FromWorker,
  type ToWorker,
  WORKER_COMMAND,
} from './worker-messages.ts';

/** RESTART_DELAY_MS is the first wait before a dead worker is replaced; it doubles while they keep dying. */
const RESTART_DELAY_MS = 100;
/** MAX_RESTART_DELAY_MS bounds that wait. */
const MAX_RESTART_DELAY_MS = 30_000;
/** STABLE_MS is how long a worker must live for the next death to count as a first one again. */
const STABLE_MS = 10_000;

/** WorkerView is one worker as the admin API's `/status` shows it. */
export type WorkerView = WorkerStatusView;

interface Slot {
  readonly index: number;
  child: ChildProcess | undefined;
  startedAt: number;
  restarts: number;
  /** failures counts deaths in a row, each within STABLE_MS of its start. */
  failures: number;
  version: number;
  /** sent is the config version last sent to the current child (whole or as a delta). */
  sent: number;
  connections: number;
  requests: number;
  /** waiters are told each message the current child sends. */
  readonly waiters: Set<(message: FromWorker | 'exit') => void>;
}

/** WorkerPoolOptions say how to start a worker and where to find the state a new one needs. */
export interface WorkerPoolOptions {
  /** main is the `portico` entry point a worker runs (this process's own). */
  readonly main: string;
  readonly log: Logger;
  /** verdicts lists the endpoint verdicts in force, for a worker that starts (or restarts). */
  readonly verdicts: () => EndpointVerdict[];
  /** accessLog, when set, makes every worker write its requests there (`-`: standard output). */
  readonly accessLog?: AccessLogOptions;
}

/**
 * WorkerPool runs the data-plane worker processes of `portico run --workers N`: it forks them, sends each
 * the config in force (and the endpoint verdicts the primary's health checks made), then each change as
 * a delta (only the services and routes that are not the same objects), tells when a config is applied
 * by all of them, replaces a worker that dies (after 100 ms, doubling up to 30 s while they
 * keep dying) while the others serve, and drains them all on shutdown.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots: Slot[];
  #current: { version: number; config: PorticoConfig } | undefined;
  #acme: AcmeAnswers | undefined;
  #ticketKeys: string | undefined;
  #stopping = false;
  #viewRequests = 0;

  constructor(size: number, options: WorkerPoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: size }, (_, index) => ({
      index,
      child: undefined,
      startedAt: 0,
      restarts: 0,
      failures: 0,
      version: 0,
      sent: 0,
      connections: 0,
      requests: 0,
      waiters: new Set(),
    }));
  }

  /** size is the number of workers. */
  get size(): number {
    return this.#slots.length;
  }

  /** start forks every worker with `config`; it resolves once all of them listen, and throws if one cannot. */
  async start(version: number, config: PorticoConfig): Promise<void> {
    this.#current = { version, config };
    for (const slot of this.#slots) this.#fork(slot);
    await Promise.all(this.#slots.map((slot) => this.#applied(slot, version)));
  }

  /**
   * apply sends `config` to every worker and resolves once all of them serve it; it throws, naming the
   * workers, when one refuses it or does not answer within `timeoutMs`.
   */
  async apply(version: number, config: PorticoConfig, timeoutMs = 10_000): Promise<void> {
    const previous = this.#current;
    this.#current = { version, config };
    // What changed crosses to a worker that has the previous config; a whole config to any other.
    const delta = previous === undefined ? undefined : diffConfig(previous.config, config, previous.version);
    for (const slot of this.#slots) {
      if (delta !== undefined && slot.sent === delta.from)
        this.#send(slot, { type: 'delta', version, delta });
      else this.#send(slot, { type: 'config', version, config });
      slot.sent = version;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`workers did not apply version ${version} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(this.#slots.map((slot) => this.#applied(slot, version))), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** sendTicketKeys gives every worker (and each one started later) the TLS session ticket keys to use. */
  sendTicketKeys(keys: Buffer): void {
    this.#ticketKeys = keys.toString('base64');
    for (const slot of this.#slots) this.#send(slot, { type: 'ticket-keys', keys: this.#ticketKeys });
  }

  /** sendAcme gives every worker (and each one started later) the ACME challenge answers in force. */
  sendAcme(answers: AcmeAnswers): void {
    this.#acme = answers;
    for (const slot of this.#slots) this.#send(slot, { type: 'acme', answers });
  }

  /** reopenLogs asks every worker to open its access log file again (after logrotate). */
  reopenLogs(): void {
    for (const slot of this.#slots) this.#send(slot, { type: 'reopen-logs' });
  }

  /** sendVerdicts tells every worker of endpoint availability changes the primary saw. */
  sendVerdicts(verdicts: readonly EndpointVerdict[]): void {
    for (const slot of this.#slots) this.#send(slot, { type: 'verdicts', verdicts });
  }

  /**
   * views asks every worker for its counters, traffic, services and listeners, and resolves with the
   * answers that came within `timeoutMs` (a worker that is starting or stuck is left out).
   */
  async views(timeoutMs = 1_000): Promise<DataPlaneViews[]> {
    const id = ++this.#viewRequests;
    const answers = this.#slots.map((slot) => {
      if (slot.child?.connected !== true) return Promise.resolve(undefined);
      return new Promise<DataPlaneViews | undefined>((resolve) => {
        const timer = setTimeout(() => done(undefined), timeoutMs);
        const done = (views: DataPlaneViews | undefined) => {
          clearTimeout(timer);
          slot.waiters.delete(waiter);
          resolve(views);
        };
        const waiter = (message: FromWorker | 'exit') => {
          if (message === 'exit') done(undefined);
          else if (message.type === 'views' && message.id === id) done(message.views);
        };
        slot.waiters.add(waiter);
        this.#send(slot, { type: 'views', id });
      });
    });
    return (await Promise.all(answers)).filter((v) => v !== undefined);
  }

  /** drain asks every worker to stop accepting, finish what is in flight and exit; resolves when all did. */
  async drain(drainTimeoutMs: number): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#slots.map(async (slot) => {
        const child = slot.child;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        this.#send(slot, { type: 'drain', drainTimeoutMs });
        const kill = setTimeout(() => child.kill('SIGKILL'), drainTimeoutMs + 2_000);
        await exited;
        clearTimeout(kill);
      }),
    );
  }

  /** workers describes each worker, for `/status`. */
  workers(): WorkerView[] {
    const now = Date.now();
    return this.#slots.map((slot) => ({
      index: slot.index,
      pid: slot.child?.pid,
      version: slot.version,
      connections: slot.connections,
      requests: slot.requests,
      uptimeSeconds: slot.child === undefined ? 0 : Math.round((now - slot.startedAt) / 1000),
      restarts: slot.restarts,
    }));
  }

  #fork(slot: Slot): void {
    const accessLog = this.#options.accessLog;
    const child = fork(this.#options.main, [WORKER_COMMAND], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        ...(accessLog === undefined ? {} : { [ACCESS_LOG_ENV]: JSON.stringify(accessLog) }),
      },
    });
    slot.child = child;
    slot.startedAt = Date.now();
    slot.version = 0;
    slot.sent = 0;
    slot.connections = 0;
    slot.requests = 0;
    child.on('message', (message: FromWorker) => {
      if (message.type === 'applied') slot.version = Math.max(slot.version, message.version);
      else if (message.type === 'stats') {
        slot.connections = message.connections;
        slot.requests = message.requests;
      } else if (message.type === 'resync') {
        const current = this.#current;
        if (current !== undefined) {
          this.#send(slot, { type: 'config', version: current.version, config: current.config });
          slot.sent = current.version;
        }
      } else if (message.type === 'ocsp') {
        logOcspEvent(this.#options.log, message.event, { worker: slot.index });
      } else if (message.type === 'rate-limit-store') {
        logStoreState(this.#options.log, message.state, message.message, { worker: slot.index });
      } else if (message.type === 'ejected') {
        // Passive ejection seen by one worker holds in all: the others stop sending there too.
        this.#options.log.warn(
          {
            worker: slot.index,
            service: message.service,
            endpoint: message.endpoint,
            ejectedForMs: message.ms,
          },
          `worker ${slot.index} ejected endpoint ${message.endpoint} of service "${message.service}" (${message.detail}); the other workers follow`,
        );
        const verdict = {
          service: message.service,
          endpoint: message.endpoint,
          ejectedForMs: message.ms,
          detail: `ejected by worker ${slot.index}: ${message.detail}`,
        };
        for (const other of this.#slots)
          if (other !== slot) this.#send(other, { type: 'verdicts', verdicts: [verdict] });
      } else if (message.type === 'refused')
        this.#options.log.error(
          { worker: slot.index, code: message.code, version: message.version },
          `worker ${slot.index} refused config version ${message.version}: ${message.message}`,
        );
      for (const waiter of slot.waiters) waiter(message);
    });
    child.once('exit', (code, signal) => {
      for (const waiter of slot.waiters) waiter('exit');
      if (this.#stopping || slot.child !== child) return;
      slot.child = undefined;
      slot.restarts++;
      slot.failures = Date.now() - slot.startedAt < STABLE_MS ? slot.failures + 1 : 1;
      const delay = Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** (slot.failures - 1));
      this.#options.log.warn(
        { worker: slot.index, workerPid: child.pid, code, signal, restartInMs: delay },
        `worker ${slot.index} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); replacing it in ${delay} ms`,
      );
      setTimeout(() => {
        if (!this.#stopping) this.#fork(slot);
      }, delay).unref();
    });
    const current = this.#current;
    // Ticket keys first: the worker's proxy is made with them when the config comes.
    if (this.#ticketKeys !== undefined) this.#send(slot, { type: 'ticket-keys', keys: this.#ticketKeys });
    if (current !== undefined) {
      this.#send(slot, { type: 'config', version: current.version, config: current.config });
      slot.sent = current.version;
      const verdicts = this.#options.verdicts();
      if (verdicts.length > 0) this.#send(slot, { type: 'verdicts', verdicts });
      if (this.#acme !== undefined) this.#send(slot, { type: 'acme', answers: this.#acme });
    }
  }

  #send(slot: Slot, message: ToWorker): void {
    const child = slot.child;
    if (child?.connected === true) child.send(message);
  }

  /** #applied resolves once `slot`'s worker serves `version` (or a later one); rejects if it refuses or dies. */
  #applied(slot: Slot, version: number): Promise<void> {
    if (slot.version >= version) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = (message: FromWorker | 'exit') => {
        if (message === 'exit') {
          slot.waiters.delete(waiter);
          reject(new Error(`worker ${slot.index} exited before it applied version ${version}`));
        } else if (message.type === 'applied' && message.version >= version) {
          slot.waiters.delete(waiter);
          resolve();
        } else if (message.type === 'refused' && message.version === version) {
          slot.waiters.delete(waiter);
          reject(new Error(`worker ${slot.index}: ${message.message}`));
        }
      };
      slot.waiters.add(waiter);
    });
  }
}
