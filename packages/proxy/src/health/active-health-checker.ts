import { connect, type Socket } from 'node:net';
import type { HealthCheckConfig } from '@portico/config';
import type { buildConnector, Client } from 'undici';
import { nodeTls, undici } from '../lazy-modules.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';

/** CheckTarget is one endpoint and the check a service asks for it. */
export interface CheckTarget {
  readonly endpoint: EndpointState;
  readonly check: HealthCheckConfig;
}

/**
 * ActiveHealthChecker runs one probe loop per endpoint and check, however many services and routes use
 * it, and records the verdict on the endpoint: `unhealthyThreshold` failures in a row take it out,
 * `healthyThreshold` passes bring it back. HTTP checks GET `path` (via undici, over TLS with the service's
 * settings when its endpoints speak TLS, on a fresh connection each time, `timeoutMs` covering the connect
 * too) and pass on
 * `expectedStatuses` (200-399 when empty); TCP checks pass when a connect succeeds. Each interval gets
 * up to `jitterMs` extra so probes do not align. Timers never keep the process alive.
 */
export class ActiveHealthChecker {
  readonly #probes = new Map<string, Probe>();

  /** sync starts probes for `targets` not yet probed and stops those no longer wanted. */
  sync(targets: Iterable<CheckTarget>): void {
    const wanted = new Map<string, CheckTarget>();
    for (const target of targets)
      wanted.set(`${target.endpoint.service}|${target.endpoint.key}|${JSON.stringify(target.check)}`, target);
    const stopped: Probe[] = [];
    for (const [key, probe] of this.#probes) {
      if (wanted.has(key) && !probe.endpoint.retired) continue;
      probe.stop();
      stopped.push(probe);
      this.#probes.delete(key);
    }
    const probed = new Set([...this.#probes.values()].map((p) => p.endpoint));
    for (const [key, target] of wanted) {
      if (this.#probes.has(key)) continue;
      const probe = new Probe(target.endpoint, target.check);
      this.#probes.set(key, probe);
      probed.add(target.endpoint);
      probe.start();
    }
    // An endpoint no check watches any more is trusted again.
    for (const probe of stopped) if (!probed.has(probe.endpoint)) probe.endpoint.setHealthy(true);
  }

  /** stop ends every probe. */
  stop(): void {
    for (const probe of this.#probes.values()) probe.stop();
    this.#probes.clear();
  }

  /** size is the number of probe loops running. */
  get size(): number {
    return this.#probes.size;
  }
}

class Probe {
  readonly endpoint: EndpointState;
  readonly #check: HealthCheckConfig;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #passes = 0;
  #failures = 0;
  /** #client is the probe's own undici client: its connect timeout is the check's, and TLS the service's. */
  #client: Client | undefined;

  constructor(endpoint: EndpointState, check: HealthCheckConfig) {
    this.endpoint = endpoint;
    this.#check = check;
  }

  start(): void {
    this.#schedule(Math.random() * Math.min(this.#check.intervalMs, 1_000)); // spread the first probes
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    void this.#client?.destroy().catch(() => {});
    this.#client = undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), delayMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    const failure = this.#check.type === 'http' ? await this.#http() : await this.#tcp();
    if (this.#stopped) return;
    if (failure === undefined) {
      this.#failures = 0;
      if (++this.#passes >= this.#check.healthyThreshold) this.endpoint.setHealthy(true);
    } else {
      this.#passes = 0;
      if (++this.#failures >= this.#check.unhealthyThreshold)
        this.endpoint.setHealthy(false, `${this.#failures} failed checks in a row, the last: ${failure}`);
    }
    this.#schedule(this.#check.intervalMs + Math.random() * this.#check.jitterMs);
  }

  /** #http probes once; it resolves with why the check failed, or undefined when it passed. */
  async #http(): Promise<string | undefined> {
    const { address, port, tls } = this.endpoint;
    const host = address.includes(':') ? `[${address}]` : address;
    const timeout = this.#check.timeoutMs;
    this.#client ??= new (undici().Client)(`${tls === undefined ? 'http' : 'https'}://${host}:${port}`, {
      connect: probeConnector(this.endpoint, timeout),
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    try {
      const res = await this.#client.request({
        path: this.#check.path,
        method: 'GET',
        headers: { host: this.#check.host ?? `${host}:${port}`, 'user-agent': 'portico-health-check' },
        signal: AbortSignal.timeout(timeout),
        reset: true, // a fresh connection per probe: a dead endpoint is not hidden by a live socket
      });
      await res.body.dump();
      const expected = this.#check.expectedStatuses;
      const passed =
        expected.length === 0
          ? res.statusCode >= 200 && res.statusCode < 400
          : expected.includes(res.statusCode);
      return passed ? undefined : `HTTP ${res.statusCode}`;
    } catch (error) {
      return failureOf(error, timeout);
    }
  }

  /** #tcp probes once; it resolves with why the check failed, or undefined when it passed. */
  #tcp(): Promise<string | undefined> {
    return new Promise((resolve) => {
      const socket = connect({ host: this.endpoint.address, port: this.endpoint.port });
      const done = (failure: string | undefined) => {
        socket.destroy();
        resolve(failure);
      };
      socket.setTimeout(this.#check.timeoutMs, () =>
        done(`no connection within ${this.#check.timeoutMs} ms`),
      );
      socket.once('connect', () => done(undefined));
      socket.once('error', (error) => done(failureOf(error, this.#check.timeoutMs)));
    });
  }
}

/**
 * probeConnector connects to `endpoint` (over TLS with its service's settings when it has them) and gives
 * up after exactly `timeoutMs`: undici's own connect timeout ticks in whole seconds and an abort signal
 * does not stop a connect in progress.
 */
function probeConnector(endpoint: EndpointState, timeoutMs: number): buildConnector.connector {
  return (_options, callback) => {
    const { address, port, tls } = endpoint;
    const socket: Socket =
      tls === undefined
        ? connect({ host: address, port })
        : nodeTls().connect({ host: address, port, ...tls.options });
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === null) callback(null, socket);
      else {
        socket.destroy();
        callback(error, null);
      }
    };
    const timer = setTimeout(() => settle(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => settle(null));
    socket.once('error', settle);
    return socket;
  };
}

/** failureOf names why a probe failed: its error code (ECONNREFUSED, ...) or a timeout. */
function failureOf(error: unknown, timeoutMs: number): string {
  const e = error as { code?: string; name?: string; cause?: { code?: string } };
  const code = e.cause?.code ?? e.code;
  if (e.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'ETIMEDOUT')
    return `no answer within ${timeoutMs} ms`;
  return code ?? String((error as Error).message ?? error);
}
