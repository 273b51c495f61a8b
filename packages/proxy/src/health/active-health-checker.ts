import { connect } from 'node:net';
import type { HealthCheckConfig } from '@portico/config';
import { request } from 'undici';
import type { EndpointState } from '../upstream/endpoint-state.ts';

/** CheckTarget is one endpoint and the check a service asks for it. */
export interface CheckTarget {
  readonly endpoint: EndpointState;
  readonly check: HealthCheckConfig;
}

/**
 * ActiveHealthChecker runs one probe loop per endpoint and check, however many services and routes use
 * it, and records the verdict on the endpoint: `unhealthyThreshold` failures in a row take it out,
 * `healthyThreshold` passes bring it back. HTTP checks GET `path` (via undici) and pass on
 * `expectedStatuses` (200-399 when empty); TCP checks pass when a connect succeeds. Each interval gets
 * up to `jitterMs` extra so probes do not align. Timers never keep the process alive.
 */
export class ActiveHealthChecker {
  readonly #probes = new Map<string, Probe>();

  /** sync starts probes for `targets` not yet probed and stops those no longer wanted. */
  sync(targets: Iterable<CheckTarget>): void {
    const wanted = new Map<string, CheckTarget>();
    for (const target of targets)
      wanted.set(`${target.endpoint.key}|${JSON.stringify(target.check)}`, target);
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
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), delayMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    const passed = this.#check.type === 'http' ? await this.#http() : await this.#tcp();
    if (this.#stopped) return;
    if (passed) {
      this.#failures = 0;
      if (++this.#passes >= this.#check.healthyThreshold) this.endpoint.setHealthy(true);
    } else {
      this.#passes = 0;
      if (++this.#failures >= this.#check.unhealthyThreshold) this.endpoint.setHealthy(false);
    }
    this.#schedule(this.#check.intervalMs + Math.random() * this.#check.jitterMs);
  }

  async #http(): Promise<boolean> {
    const { address, port } = this.endpoint;
    const host = address.includes(':') ? `[${address}]` : address;
    try {
      const res = await request(`http://${host}:${port}${this.#check.path}`, {
        method: 'GET',
        headers: { host: this.#check.host ?? `${host}:${port}`, 'user-agent': 'portico-health-check' },
        signal: AbortSignal.timeout(this.#check.timeoutMs),
        headersTimeout: this.#check.timeoutMs,
        bodyTimeout: this.#check.timeoutMs,
      });
      await res.body.dump();
      const expected = this.#check.expectedStatuses;
      return expected.length === 0
        ? res.statusCode >= 200 && res.statusCode < 400
        : expected.includes(res.statusCode);
    } catch {
      return false;
    }
  }

  #tcp(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect({ host: this.endpoint.address, port: this.endpoint.port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(this.#check.timeoutMs, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
  }
}
