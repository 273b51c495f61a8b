import { type AvailabilityReason, endpointChannel } from '../diagnostics.ts';
import { AvailabilityClock } from './availability-clock.ts';
import type { UpstreamConnection } from './upstream-connection.ts';
import type { UpstreamTls } from './upstream-tls.ts';

/**
 * EndpointState is what Portico knows about one endpoint (`address:port`) of one service beyond any one
 * config: its idle pooled connections, health, ejection, latency and counters. Two services that share a
 * pod port each have their own, since each has its own health check, outlier detection and limits. It
 * outlives config changes that keep the endpoint in its service, and is retired (idle connections closed,
 * busy ones closed when done) when a change removes it.
 */
export class EndpointState {
  /** key is the endpoint's address: `address:port`, IPv6 addresses in brackets. */
  readonly key: string;
  /** service is the name of the service the endpoint belongs to. */
  readonly service: string;
  readonly address: string;
  readonly port: number;
  /** idle holds pooled connections, most recently used last. */
  readonly idle: UpstreamConnection[] = [];
  /** active counts requests in flight to this endpoint. */
  active = 0;
  /** connections counts open upstream connections, idle or busy. */
  connections = 0;
  /** requests counts requests sent to this endpoint. */
  requests = 0;
  /** failures counts connect failures, resets and 5xx responses. */
  failures = 0;
  /** bytesIn and bytesOut count L4 bytes from and to the endpoint, of closed connections. */
  bytesIn = 0;
  bytesOut = 0;
  /** retired is set when no config refers to the endpoint any more. */
  retired = false;
  /** healthy is the active health check's verdict; true until a check says otherwise. */
  healthy = true;
  /** ejected is set by passive outlier detection until `ejectedUntil` (ms since the epoch). */
  ejected = false;
  ejectedUntil = 0;
  /** ejections counts ejections, so repeat offenders stay out longer; reset by a long healthy run. */
  ejections = 0;
  /** consecutiveFailures counts 5xx and connection failures since the last success. */
  consecutiveFailures = 0;
  /** disabled is set by an operator for maintenance: no new requests. */
  disabled = false;
  /** availableSince is when the endpoint last became available (ms), for slow start. */
  availableSince = Date.now();
  /** ewmaMs is the peak-EWMA time to first response byte, in ms; 0 before the first sample. */
  ewmaMs = 0;
  /** ewmaAt is when `ewmaMs` was last updated (ms). */
  ewmaAt = 0;

  /** tls is set when connections to the endpoint speak TLS. */
  readonly tls: UpstreamTls | undefined;
  /** registryKey is the state's key in the EndpointRegistry that made it ('' outside one). */
  registryKey = '';

  readonly #clock: AvailabilityClock;

  constructor(
    address: string,
    port: number,
    tls?: UpstreamTls,
    service = '',
    clock: AvailabilityClock = new AvailabilityClock(),
  ) {
    this.address = address;
    this.port = port;
    this.tls = tls;
    this.service = service;
    this.#clock = clock;
    this.key = endpointKey(address, port);
  }

  /**
   * availabilityChanged records a change of whether the endpoint can take requests, for the balancers
   * (the clock) and for observers (`portico:endpoint:availability`).
   */
  availabilityChanged(available: boolean, reason: AvailabilityReason, detail?: string): void {
    this.#clock.tick();
    if (endpointChannel.hasSubscribers)
      endpointChannel.publish({ service: this.service, endpoint: this.key, available, reason, detail });
  }

  /** setHealthy records an active health check verdict; `detail` says why a check failed. */
  setHealthy(healthy: boolean, detail?: string): void {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    if (healthy) this.availableSince = Date.now();
    this.availabilityChanged(healthy, 'health-check', detail);
  }

  /**
   * eject takes the endpoint out of rotation for `ms` (passive outlier detection), saying why in
   * `detail`; it does nothing while the endpoint is already ejected.
   */
  eject(ms: number, detail: string): void {
    if (this.ejected) return;
    this.ejected = true;
    this.ejectedUntil = Date.now() + ms;
    this.availabilityChanged(false, 'ejected', detail);
    setTimeout(() => {
      this.ejected = false;
      this.consecutiveFailures = 0;
      this.availableSince = Date.now();
      this.availabilityChanged(true, 'ejection-ended');
    }, ms).unref();
  }

  /** setDisabled takes the endpoint out of (or back into) rotation for maintenance. */
  setDisabled(disabled: boolean): void {
    if (this.disabled === disabled) return;
    this.disabled = disabled;
    if (!disabled) this.availableSince = Date.now();
    this.availabilityChanged(!disabled, disabled ? 'disabled' : 'enabled');
  }

  /** recordLatency folds a time-to-first-byte sample into the peak EWMA (decay time constant 10 s). */
  recordLatency(ms: number, now: number): void {
    if (this.ewmaAt === 0 || ms > this.ewmaMs) {
      this.ewmaMs = ms; // peak: a slow sample is believed at once
    } else {
      const w = Math.exp(-(now - this.ewmaAt) / 10_000);
      this.ewmaMs = this.ewmaMs * w + ms * (1 - w);
    }
    this.ewmaAt = now;
  }
}

/** endpointKey is the identity of an endpoint: `address:port`, with IPv6 addresses in brackets. */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
