import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { ListenerConfig, PorticoConfig } from '@portico/config';
import { ServiceRegistry } from './balancer/service-state.ts';
import { DeadlineSweeper } from './deadline-sweeper.ts';
import { configAppliedChannel, requestChannel } from './diagnostics.ts';
import { ActiveHealthChecker, type CheckTarget } from './health/active-health-checker.ts';
import type { ConnectionContext } from './http/connection-context.ts';
import { HttpConnection } from './http/http-connection.ts';
import { createL4Counters, type L4Counters } from './l4/l4-counters.ts';
import { trustsSource } from './l4/l4-route.ts';
import { readProxyPreamble } from './l4/proxy-preamble.ts';
import type { ProxyHeader } from './l4/proxy-protocol.ts';
import { type L4Context, TcpSession } from './l4/tcp-session.ts';
import { createCounters, type ProxyCounters } from './proxy-counters.ts';
import { compileSnapshot, type Snapshot } from './snapshot.ts';
import { StatsRegistry } from './traffic-stats.ts';
import { EndpointRegistry } from './upstream/endpoint-registry.ts';
import type { EndpointState } from './upstream/endpoint-state.ts';
import { UpstreamPool } from './upstream/upstream-pool.ts';

/** BoundListener is a listener and the address it is bound to. */
export interface BoundListener {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/** CloseOptions govern `PorticoProxy.close`. */
export interface CloseOptions {
  /** drainTimeoutMs bounds how long in-flight requests may finish; defaults to `shutdown.drainTimeoutMs`. */
  readonly drainTimeoutMs?: number;
}

interface ListenerRuntime {
  readonly config: ListenerConfig;
  readonly server: Server;
  readonly counters: L4Counters;
  port: number;
}

/**
 * PorticoProxy is a running Portico data plane: listeners, the current snapshot, upstream pools. `apply` swaps in
 * a new config in one assignment (requests in flight keep the snapshot they started with), binding new
 * listeners and closing removed ones; `close` drains.
 */
export class PorticoProxy implements ConnectionContext, L4Context {
  readonly counters: ProxyCounters = createCounters();
  readonly sweeper = new DeadlineSweeper();
  readonly pool: UpstreamPool;
  readonly requestChannel = requestChannel;
  readonly #registry = new EndpointRegistry();
  readonly #serviceStates = new ServiceRegistry();
  /** routeStats holds each route's traffic counters by name, across config changes. */
  readonly routeStats = new StatsRegistry();
  readonly #health = new ActiveHealthChecker();
  /** #connections maps each open connection to its listener's counters. */
  readonly #connections = new Map<HttpConnection | TcpSession, L4Counters>();
  readonly #listeners = new Map<string, ListenerRuntime>();
  #snapshot: Snapshot;
  #version = 0;
  #draining = false;

  constructor(config: PorticoConfig) {
    this.#snapshot = compileSnapshot(
      config,
      this.#registry,
      this.#serviceStates,
      this.routeStats,
      ++this.#version,
    );
    this.#health.sync(checkTargets(this.#snapshot));
    this.pool = new UpstreamPool(this.sweeper, {
      ...config.upstreamPool,
      upstreamIdleMs: config.timeouts.upstreamIdleMs,
    });
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** connectionCount is the number of open client connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** endpoints lists the state of every endpoint the current config uses. */
  endpoints(): EndpointState[] {
    return this.#registry.all();
  }

  /**
   * apply makes `config` (already validated) live and returns its snapshot. Listeners added by the config
   * are bound, removed ones closed; endpoints no longer used have their idle connections closed.
   */
  async apply(config: PorticoConfig): Promise<Snapshot> {
    const snapshot = compileSnapshot(
      config,
      this.#registry,
      this.#serviceStates,
      this.routeStats,
      ++this.#version,
    );
    this.#snapshot = snapshot;
    this.#serviceStates.retainOnly(new Set(snapshot.services.keys()));
    this.pool.configure({ ...config.upstreamPool, upstreamIdleMs: config.timeouts.upstreamIdleMs });
    const used = new Set<EndpointState>();
    for (const service of snapshot.services.values())
      for (const endpoint of service.endpoints) used.add(endpoint);
    for (const endpoint of this.#registry.retireAllBut(used)) this.pool.closeIdle(endpoint);
    this.#health.sync(checkTargets(snapshot));
    if (this.#listeners.size > 0) await this.#reconcileListeners(config.listeners);
    if (configAppliedChannel.hasSubscribers) configAppliedChannel.publish({ version: snapshot.version });
    return snapshot;
  }

  /** listen binds every listener of the current config and resolves with their addresses. */
  async listen(): Promise<BoundListener[]> {
    await this.#reconcileListeners(this.#snapshot.config.listeners);
    return this.listeners();
  }

  /** listeners lists the bound listeners. */
  listeners(): BoundListener[] {
    return [...this.#listeners.values()].map((l) => ({
      name: l.config.name,
      address: l.config.address,
      port: l.port,
    }));
  }

  async #reconcileListeners(wanted: readonly ListenerConfig[]): Promise<void> {
    const keys = new Set<string>();
    for (const config of wanted) {
      const key = listenerKey(config);
      keys.add(key);
      if (this.#listeners.has(key)) continue;
      const runtime: ListenerRuntime = {
        config,
        server: createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
          this.#accept(socket, runtime),
        ),
        counters: createL4Counters(),
        port: config.port,
      };
      const server = runtime.server;
      this.#listeners.set(key, runtime);
      server.listen({ host: config.address, port: config.port, backlog: 1024 });
      try {
        await once(server, 'listening');
      } catch (error) {
        this.#listeners.delete(key);
        throw new Error(
          `listener "${config.name}" cannot bind ${config.address}:${config.port}: ${(error as Error).message}`,
        );
      }
      const address = server.address();
      if (address !== null && typeof address === 'object') runtime.port = address.port;
    }
    for (const [key, runtime] of this.#listeners) {
      if (keys.has(key)) continue;
      this.#listeners.delete(key);
      runtime.server.close();
    }
  }

  #accept(socket: Socket, runtime: ListenerRuntime): void {
    const counters = runtime.counters;
    const limit = runtime.config.maxConnections;
    if (this.#draining || (limit > 0 && counters.active >= limit)) {
      if (!this.#draining) counters.refused++;
      socket.destroy();
      return;
    }
    this.counters.connections++;
    const route = this.#snapshot.l4.get(runtime.config.name);
    if (route?.trustedSources !== undefined) {
      counters.active++; // held while the PROXY header is read
      socket.once('close', () => counters.active--);
      readProxyPreamble(socket, trustsSource(route, socket.remoteAddress ?? ''), (header, rest) => {
        counters.active--;
        this.#startSession(socket, runtime, header, rest);
      });
      return;
    }
    this.#startSession(socket, runtime, undefined, undefined);
  }

  #startSession(
    socket: Socket,
    runtime: ListenerRuntime,
    header: ProxyHeader | undefined,
    rest: Buffer | undefined,
  ): void {
    if (socket.destroyed) return;
    const route = this.#snapshot.l4.get(runtime.config.name);
    if (runtime.config.protocol === 'http' || route === undefined) {
      runtime.counters.connections++;
      runtime.counters.active++;
      const origin =
        header !== undefined && !header.local
          ? { address: header.sourceAddress, port: header.sourcePort }
          : undefined;
      this.#connections.set(new HttpConnection(socket, this, origin, rest), runtime.counters);
      return;
    }
    this.#connections.set(
      new TcpSession(socket, route, this, runtime.counters, header, rest),
      runtime.counters,
    );
  }

  sessionClosed(session: TcpSession): void {
    this.#connections.delete(session);
  }

  /** listenerCounters returns each listener's counters, by name. */
  listenerCounters(): Map<string, L4Counters> {
    return new Map([...this.#listeners.values()].map((l) => [l.config.name, l.counters]));
  }

  connectionClosed(connection: HttpConnection): void {
    const counters = this.#connections.get(connection);
    if (counters !== undefined) counters.active--;
    this.#connections.delete(connection);
  }

  /**
   * close stops accepting, lets in-flight exchanges finish (each connection closes after its current
   * response) for up to the drain timeout, then closes whatever is left.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    const drainTimeoutMs = options.drainTimeoutMs ?? this.#snapshot.config.shutdown.drainTimeoutMs;
    this.#draining = true;
    const closed = [...this.#listeners.values()].map(
      (l) => new Promise((resolve) => l.server.close(resolve)),
    );
    this.#listeners.clear();
    for (const connection of [...this.#connections.keys()]) {
      if (connection instanceof HttpConnection) connection.drain();
    }
    const deadline = Date.now() + drainTimeoutMs;
    while (this.#connections.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const connection of [...this.#connections.keys()]) connection.destroy();
    for (const endpoint of this.#registry.all()) this.pool.closeIdle(endpoint);
    this.#health.stop();
    this.sweeper.stop();
    await Promise.all(closed);
  }
}

/** checkTargets lists the endpoints whose services ask for active health checks. */
function checkTargets(snapshot: Snapshot): CheckTarget[] {
  const targets: CheckTarget[] = [];
  for (const service of snapshot.services.values()) {
    const check = service.config.healthCheck;
    if (check !== undefined) for (const endpoint of service.endpoints) targets.push({ endpoint, check });
  }
  return targets;
}

function listenerKey(config: ListenerConfig): string {
  return `${config.name}|${config.address}|${config.port}`;
}

/** createProxy builds a proxy for a validated config; call `listen()` to start serving. */
export function createProxy(config: PorticoConfig): PorticoProxy {
  return new PorticoProxy(config);
}
