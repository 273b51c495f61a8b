import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_TLS, type ListenerConfig, type PorticoConfig } from '@portico/config';
import type { Agent } from 'undici';
import type { ServiceBalancer } from './balancer/service-balancer.ts';
import { ServiceRegistry } from './balancer/service-state.ts';
import { DeadlineSweeper } from './deadline-sweeper.ts';
import {
  configAppliedChannel,
  configRefusedChannel,
  requestChannel,
  tlsErrorChannel,
} from './diagnostics.ts';
import { ActiveHealthChecker, type CheckTarget } from './health/active-health-checker.ts';
import type { ConnectionContext } from './http/connection-context.ts';
import { type ClientSocket, HttpConnection, type SecureInfo } from './http/http1-connection.ts';
import { Http2Front } from './http2/http2-front.ts';
import { createL4Counters, type L4Counters } from './l4/l4-counters.ts';
import { trustsSource } from './l4/l4-route.ts';
import { readProxyPreamble } from './l4/proxy-preamble.ts';
import type { ProxyHeader } from './l4/proxy-protocol.ts';
import { type L4Context, TcpSession } from './l4/tcp-session.ts';
import { nodeTls, undici } from './lazy-modules.ts';
import { AcmeChallenges } from './pipeline/acme-challenges.ts';
import { createCounters, type ProxyCounters } from './proxy-counters.ts';
import { PorticoProxyError } from './proxy-error.ts';
import { GlobalRateLimits } from './rate-limit/global-rate-limits.ts';
import type { ServiceChanges } from './service-compilation.ts';
import { compileSnapshot, type Snapshot } from './snapshot.ts';
import { SourceLimits } from './source-limits.ts';
import { AcmeTlsAlpnResponder, readClientHello } from './tls/acme-tls-alpn.ts';
import { CertificateStore, type ListenerTls } from './tls/certificate-store.ts';
import { clientCertificateLines } from './tls/client-certificate.ts';
import { HandshakeGate } from './tls/handshake-gate.ts';
import { OcspStapler } from './tls/ocsp-stapler.ts';
import { prefixedStream } from './tls/prefixed-stream.ts';
import { StatsRegistry } from './traffic-stats.ts';
import { EndpointRegistry } from './upstream/endpoint-registry.ts';
import type { EndpointState } from './upstream/endpoint-state.ts';
import { H2UpstreamPool } from './upstream/h2-upstream-pool.ts';
import { UpstreamPool } from './upstream/upstream-pool.ts';

/** BoundListener is a listener and the address it is bound to. */
export interface BoundListener {
  readonly name: string;
  readonly protocol: ListenerConfig['protocol'];
  readonly address: string;
  readonly port: number;
}

/** CloseOptions govern `PorticoProxy.close`. */
export interface CloseOptions {
  /** drainTimeoutMs bounds how long in-flight requests may finish; defaults to `shutdown.drainTimeoutMs`. */
  readonly drainTimeoutMs?: number;
}

interface ListenerRuntime {
  /** config is the listener's config in force (replaced when an apply changes it in place). */
  config: ListenerConfig;
  readonly server: Server;
  readonly counters: L4Counters;
  /** sources bounds what one client address causes here (`perSource`); rebuilt when that changes. */
  sources: SourceLimits;
  /** handshakes caps the TLS handshakes in progress (`maxConcurrentHandshakes`). */
  readonly handshakes: HandshakeGate;
  port: number;
  /** tls terminates TLS for an `https` listener; rebuilt when the listener's TLS policy changes. */
  tls: { server: TlsServer; id: string } | undefined;
}

/** H2C_PREFACE_START is how an HTTP/2 prior-knowledge connection begins (`PRI * HTTP/2.0`). */
const H2C_PREFACE_START = Buffer.from('PRI * HTTP/2.0', 'latin1');

/**
 * PorticoProxy is a running Portico data plane: listeners, the current snapshot, upstream pools. `apply` swaps in
 * a new config in one assignment (requests in flight keep the snapshot they started with), binding new
 * listeners and closing removed ones; `close` drains.
 */
export class PorticoProxy implements ConnectionContext, L4Context {
  readonly counters: ProxyCounters = createCounters();
  readonly sweeper = new DeadlineSweeper();
  readonly pool: UpstreamPool;
  readonly h2pool: H2UpstreamPool;
  readonly requestChannel = requestChannel;
  /** acmeChallenges are the HTTP-01 and TLS-ALPN-01 answers an ACME client gives through Portico. */
  readonly acmeChallenges = new AcmeChallenges();
  readonly #acmeTlsAlpn = new AcmeTlsAlpnResponder(this.acmeChallenges);
  #ticketKeys: Buffer | undefined;
  readonly #ocsp = new OcspStapler();
  readonly #registry = new EndpointRegistry();
  readonly #serviceStates = new ServiceRegistry();
  /** routeStats holds each route's traffic counters by name, across config changes. */
  readonly routeStats = new StatsRegistry();
  /** globalLimits count the `global` rate limits in the shared store (`rateLimitStore`). */
  readonly globalLimits = new GlobalRateLimits();
  /** #authAgent sends forward-auth requests, keeping connections to auth services alive. */
  #authAgent: Agent | undefined;
  /** #authDispatcher makes the agent on first use (undici loads then). */
  readonly #authDispatcher = (): Agent =>
    (this.#authAgent ??= new (undici().Agent)({ keepAliveTimeout: 30_000 }));
  readonly #health = new ActiveHealthChecker();
  /** #connections maps each open connection to its listener's counters (undefined: counted by its TLS socket). */
  readonly #connections = new Map<HttpConnection | TcpSession, L4Counters | undefined>();
  /**
   * #unattached holds raw sockets no connection owns yet, so shutdown can close them: those of TLS
   * connections until they close (HTTP/1.1 ones are in #connections too), and h2c ones until their first byte.
   */
  readonly #unattached = new Set<Socket>();
  readonly #certificates = new CertificateStore();
  #h2: Http2Front | undefined;
  readonly #listeners = new Map<string, ListenerRuntime>();
  #snapshot: Snapshot;
  /** #registryDirty is set when a failed compile may have left endpoint states nothing uses. */
  #registryDirty = false;
  #version = 0;
  #draining = false;

  readonly #options: ProxyOptions;

  constructor(config: PorticoConfig, options: ProxyOptions = {}) {
    this.#options = options;
    if (options.ticketKeys !== undefined) this.setTicketKeys(options.ticketKeys);
    this.#snapshot = this.#compile(config, undefined);
    this.globalLimits.configure(config.rateLimitStore);
    if (options.activeHealthChecks !== false) this.#health.sync(checkTargets(this.#snapshot));
    this.pool = new UpstreamPool(this.sweeper, {
      ...config.upstreamPool,
      upstreamIdleMs: config.timeouts.upstreamIdleMs,
    });
    this.h2pool = new H2UpstreamPool(config.timeouts.upstreamIdleMs);
  }

  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** connectionCount is the number of open client connections (HTTP/2 sessions count once). */
  get connectionCount(): number {
    return this.#connections.size + (this.#h2?.sessionCount ?? 0);
  }

  /** http2 is the HTTP/2 front, once a client spoke HTTP/2. */
  get http2(): Http2Front | undefined {
    return this.#h2;
  }

  /** endpoints lists the state of every endpoint the current config uses. */
  endpoints(): EndpointState[] {
    return this.#registry.all();
  }

  /** #compile builds the next snapshot; services whose config is the same object as in `previous` are kept. */
  #compile(config: PorticoConfig, previous: Snapshot | undefined): Snapshot {
    return compileSnapshot(
      config,
      this.#registry,
      this.#serviceStates,
      this.routeStats,
      this.#certificates,
      ++this.#version,
      previous,
      { globalLimits: this.globalLimits, authDispatcher: this.#authDispatcher },
    );
  }

  /**
   * apply makes `config` (already validated) live and returns its snapshot, in two steps. Prepare: the
   * snapshot is compiled (files it names are read) and the listeners it adds are bound. Commit: the
   * snapshot is swapped in, listeners it removed are closed, endpoints no longer used have their idle
   * connections closed. A failed prepare changes nothing: it throws `PORTICO_APPLY_FAILED` and the last
   * good config keeps serving, every listener included.
   */
  async apply(config: PorticoConfig): Promise<Snapshot> {
    let snapshot: Snapshot | undefined;
    let added: ListenerRuntime[];
    const previous = this.#snapshot;
    try {
      try {
        snapshot = this.#compile(config, previous);
      } catch (error) {
        this.#registryDirty = true; // endpoints the half-built snapshot registered are swept next time
        throw new PorticoProxyError(
          'PORTICO_APPLY_FAILED',
          `cannot prepare the config: ${(error as Error).message}`,
        );
      }
      added = this.#listeners.size > 0 ? await this.#bindAdded(config.listeners) : [];
    } catch (error) {
      if (snapshot !== undefined) this.#registry.retire(endpointsNotKept(snapshot, previous));
      if (configRefusedChannel.hasSubscribers) {
        const { code, message } = error as PorticoProxyError;
        configRefusedChannel.publish({ code, message });
      }
      throw error;
    }
    // Commit: nothing below can fail.
    this.#snapshot = snapshot;
    for (const runtime of added) this.#listeners.set(listenerKey(runtime.config), runtime);
    const changes = snapshot.serviceChanges;
    if (changes === 'all') this.#serviceStates.retainOnly(new Set(snapshot.services.keys()));
    else for (const name of changes.removed) this.#serviceStates.delete(name);
    this.pool.configure({ ...config.upstreamPool, upstreamIdleMs: config.timeouts.upstreamIdleMs });
    this.h2pool.configure(config.timeouts.upstreamIdleMs);
    this.globalLimits.configure(config.rateLimitStore);
    let retired: EndpointState[];
    if (this.#registryDirty) {
      this.#registryDirty = false;
      const used = new Set<EndpointState>();
      for (const service of snapshot.services.values())
        for (const endpoint of service.endpoints) used.add(endpoint);
      retired = this.#registry.retireAllBut(used);
    } else {
      retired = this.#registry.retire(endpointsLeaving(snapshot)); // only changed services
    }
    for (const endpoint of retired) {
      this.pool.closeIdle(endpoint);
      this.h2pool.closeIdle(endpoint);
    }
    if (this.#options.activeHealthChecks !== false && changesHealthChecks(changes))
      this.#health.sync(checkTargets(snapshot));
    if (this.#listeners.size > 0) this.#closeRemoved(config.listeners);
    if (configAppliedChannel.hasSubscribers) configAppliedChannel.publish({ version: snapshot.version });
    return snapshot;
  }

  /**
   * setEndpointAvailability applies a verdict made elsewhere (by the primary, for a worker that runs no
   * health checks of its own) to the endpoint `address:port` of `service`: a health check's (`healthy`),
   * an operator's (`disabled`), or another worker's ejection. It returns false when the current config
   * has no such endpoint.
   */
  setEndpointAvailability(
    service: string,
    endpoint: string,
    verdict: {
      readonly healthy?: boolean;
      readonly disabled?: boolean;
      /** ejectedForMs ejects the endpoint for that long (an ejection another worker made). */
      readonly ejectedForMs?: number;
      readonly detail?: string;
    },
  ): boolean {
    const state = this.endpointState(service, endpoint);
    if (state === undefined) return false;
    if (verdict.healthy !== undefined) state.setHealthy(verdict.healthy, verdict.detail);
    if (verdict.disabled !== undefined) state.setDisabled(verdict.disabled);
    if (verdict.ejectedForMs !== undefined && verdict.ejectedForMs > 0)
      state.eject(verdict.ejectedForMs, verdict.detail ?? 'ejected elsewhere');
    return true;
  }

  /** endpointState is the state of the endpoint `address:port` of `service` in the config in force. */
  endpointState(service: string, endpoint: string): EndpointState | undefined {
    return this.#snapshot.services.get(service)?.endpoints.find((e) => e.key === endpoint);
  }

  /** listen binds every listener of the current config and resolves with their addresses. */
  async listen(): Promise<BoundListener[]> {
    const wanted = this.#snapshot.config.listeners;
    for (const runtime of await this.#bindAdded(wanted))
      this.#listeners.set(listenerKey(runtime.config), runtime);
    this.#closeRemoved(wanted);
    return this.listeners();
  }

  /** listeners lists the bound listeners. */
  listeners(): BoundListener[] {
    return [...this.#listeners.values()].map((l) => ({
      name: l.config.name,
      protocol: l.config.protocol,
      address: l.config.address,
      port: l.port,
    }));
  }

  /**
   * #bindAdded binds the listeners of `wanted` that are not bound yet and returns them, not yet in
   * `#listeners`. If one cannot bind, those it bound are closed again and it throws `PORTICO_APPLY_FAILED`.
   */
  async #bindAdded(wanted: readonly ListenerConfig[]): Promise<ListenerRuntime[]> {
    const added: ListenerRuntime[] = [];
    for (const config of wanted) {
      if (this.#listeners.has(listenerKey(config))) continue;
      const runtime: ListenerRuntime = {
        config,
        // For https: raw sockets are not half-open (that would hide a client's FIN from TLS until the
        // handshake timeout), and not read until TLS takes them, so TLS reads the handle directly.
        server: createServer(
          {
            allowHalfOpen: config.protocol !== 'https',
            pauseOnConnect: config.protocol === 'https',
            noDelay: true,
          },
          (socket) => this.#accept(socket, runtime),
        ),
        counters: createL4Counters(),
        sources: new SourceLimits(config.perSource),
        handshakes: new HandshakeGate(config.maxConcurrentHandshakes),
        port: config.port,
        tls: undefined,
      };
      const server = runtime.server;
      server.listen({
        host: config.address,
        port: config.port,
        backlog: 1024,
        reusePort: this.#options.reusePort === true,
      });
      try {
        await once(server, 'listening');
      } catch (error) {
        for (const bound of added) bound.server.close();
        throw new PorticoProxyError(
          'PORTICO_APPLY_FAILED',
          `listener "${config.name}" cannot bind ${config.address}:${config.port}: ${(error as Error).message}`,
        );
      }
      const address = server.address();
      if (address !== null && typeof address === 'object') runtime.port = address.port;
      added.push(runtime);
    }
    return added;
  }

  /** #closeRemoved closes the listeners `wanted` no longer has and refreshes the TLS of the others. */
  #closeRemoved(wanted: readonly ListenerConfig[]): void {
    const configs = new Map(wanted.map((config) => [listenerKey(config), config]));
    for (const [key, runtime] of this.#listeners) {
      const config = configs.get(key);
      if (config !== undefined) {
        if (!isDeepStrictEqual(config.perSource, runtime.config.perSource))
          runtime.sources = new SourceLimits(config.perSource);
        runtime.handshakes.max = config.maxConcurrentHandshakes;
        runtime.config = config;
        this.#refreshTls(runtime);
        continue;
      }
      this.#listeners.delete(key);
      runtime.server.close();
    }
  }

  #accept(socket: Socket, runtime: ListenerRuntime): void {
    const counters = runtime.counters;
    const limit = runtime.config.maxConnections;
    if (
      this.#draining ||
      (limit > 0 && counters.active >= limit) ||
      !runtime.sources.admit(plainAddress(socket.remoteAddress), Date.now())
    ) {
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
    const protocol = runtime.config.protocol;
    const origin =
      header !== undefined && !header.local
        ? { address: header.sourceAddress, port: header.sourcePort }
        : undefined;
    if (protocol === 'https') {
      this.#startTls(socket, runtime, origin, rest);
      return;
    }
    const route = this.#snapshot.l4.get(runtime.config.name);
    if (protocol !== 'http' && route !== undefined) {
      this.#connections.set(
        new TcpSession(socket, route, this, runtime.counters, header, rest),
        runtime.counters,
      );
      return;
    }
    runtime.counters.connections++;
    runtime.counters.active++;
    if (runtime.config.h2c) {
      this.#sniffH2c(socket, runtime, origin, rest);
      return;
    }
    this.#startHttp(socket, runtime, origin, rest, undefined);
  }

  #startHttp(
    socket: ClientSocket,
    runtime: ListenerRuntime,
    origin: { address: string; port: number } | undefined,
    initial: Buffer | undefined,
    secure: SecureInfo | undefined,
  ): void {
    const connection = new HttpConnection(socket, this, {
      origin,
      initial,
      localPort: runtime.port,
      listener: runtime.config.name,
      secure,
    });
    this.#connections.set(connection, secure === undefined ? runtime.counters : undefined);
  }

  /**
   * #sniffH2c sends a connection that starts with the HTTP/2 preface to HTTP/2, any other to HTTP/1.1.
   * Until its first byte the socket is held in #unattached: closed by a FIN, by `timeouts.clientHeadMs`
   * or by shutdown, and counted as active until it closes.
   */
  #sniffH2c(
    socket: Socket,
    runtime: ListenerRuntime,
    origin: { address: string; port: number } | undefined,
    rest: Buffer | undefined,
  ): void {
    if (rest !== undefined) {
      this.#routeH2c(socket, runtime, origin, rest);
      return;
    }
    const release = () => {
      this.#unattached.delete(socket);
      runtime.counters.active--;
    };
    const hangUp = () => socket.destroy();
    this.#unattached.add(socket);
    socket.setTimeout(this.#snapshot.timeouts.clientHeadMs, hangUp);
    socket.once('end', hangUp);
    socket.once('close', release);
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.off('timeout', hangUp);
      socket.off('end', hangUp);
      socket.off('close', release);
      this.#unattached.delete(socket);
      this.#routeH2c(socket, runtime, origin, first);
    });
  }

  /** #routeH2c hands a connection whose first bytes are `first` to HTTP/2 or HTTP/1.1. */
  #routeH2c(
    socket: Socket,
    runtime: ListenerRuntime,
    origin: { address: string; port: number } | undefined,
    first: Buffer,
  ): void {
    const n = Math.min(first.length, H2C_PREFACE_START.length);
    if (!first.subarray(0, n).equals(H2C_PREFACE_START.subarray(0, n))) {
      this.#startHttp(socket, runtime, origin, first, undefined);
      return;
    }
    socket.pause();
    socket.unshift(first);
    socket.once('close', () => runtime.counters.active--);
    this.#acceptHttp2(socket, runtime, origin, undefined);
  }

  /** #acceptHttp2 hands a connection that speaks HTTP/2 (h2c, or `h2` by ALPN) to the HTTP/2 front. */
  #acceptHttp2(
    socket: Socket,
    runtime: ListenerRuntime,
    origin: { address: string; port: number } | undefined,
    secure: SecureInfo | undefined,
  ): void {
    this.#http2().accept(socket, {
      remoteAddress: origin?.address ?? plainAddress(socket.remoteAddress),
      peer: plainAddress(socket.remoteAddress),
      sources: runtime.sources,
      localPort: runtime.port,
      listener: runtime.config.name,
      secure,
    });
  }

  /** #startTls terminates TLS on a connection to an `https` listener. */
  #startTls(
    socket: Socket,
    runtime: ListenerRuntime,
    origin: { address: string; port: number } | undefined,
    rest: Buffer | undefined,
    helloRead = false,
  ): void {
    if (!helloRead && this.acmeChallenges.tlsAlpnSize > 0) {
      // A TLS-ALPN-01 validation may come: read the ClientHello first, to answer it with its own certificate.
      const waitMs = this.#snapshot.tls.listeners.get(runtime.config.name)?.handshakeTimeoutMs;
      readClientHello(socket, rest, waitMs ?? DEFAULT_TLS.handshakeTimeoutMs, (read, hello) => {
        if (this.#acmeTlsAlpn.answers(hello)) this.#acmeTlsAlpn.answer(socket, read);
        else this.#startTls(socket, runtime, origin, read.length > 0 ? read : undefined, true);
      });
      return;
    }
    this.#refreshTls(runtime);
    const tls = runtime.tls;
    if (tls === undefined) {
      socket.destroy();
      return;
    }
    runtime.counters.connections++;
    runtime.counters.active++;
    this.#unattached.add(socket);
    socket.once('close', () => {
      this.#unattached.delete(socket);
      runtime.counters.active--;
    });
    socket.pause(); // TLS takes the handle; after a PROXY header the socket may have been reading
    const policy = this.#snapshot.tls.listeners.get(runtime.config.name);
    const waitMs = policy?.handshakeTimeoutMs ?? DEFAULT_TLS.handshakeTimeoutMs;
    runtime.handshakes.admit(socket, waitMs, (release) => {
      // Bytes read before the socket was paused sit in its buffer, where TLS would not see them.
      const early = socket.read() as Buffer | null;
      const first = early === null ? rest : rest === undefined ? early : Buffer.concat([rest, early]);
      const stream = first === undefined ? socket : prefixedStream(socket, first);
      // TLS over a JS stream cannot see the peer's address: remember it with the stream.
      const peer = origin ?? (stream === socket ? undefined : addressOf(socket));
      if (peer !== undefined) this.#origins.set(stream, peer);
      this.#handshakeDone.set(stream, release);
      tls.server.emit('connection', stream);
    });
  }

  /** #handshakeDone frees a connection's handshake slot, keyed by the stream TLS was layered on. */
  readonly #handshakeDone = new WeakMap<object, () => void>();

  /**
   * #origins remembers the client of a stream TLS is layered on until its handshake completes: the
   * PROXY-protocol client, or the peer of a raw socket TLS reads through a JS stream.
   */
  readonly #origins = new WeakMap<object, { address: string; port: number }>();

  /** #refreshTls builds the listener's TLS server when there is none or its policy changed. */
  #refreshTls(runtime: ListenerRuntime): void {
    if (runtime.config.protocol !== 'https') return;
    const tls = this.#snapshot.tls.listeners.get(runtime.config.name);
    if (tls === undefined || runtime.tls?.id === tls.id) return;
    const server = new (nodeTls().Server)({
      ...tls.serverOptions,
      SNICallback: (servername, callback) => {
        const current = this.#snapshot.tls.listeners.get(runtime.config.name) ?? tls;
        callback(null, current.contextFor(servername));
      },
      ALPNProtocols: tls.http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
      requestCert: tls.requestCert,
      rejectUnauthorized: tls.rejectUnauthorized,
      handshakeTimeout: tls.handshakeTimeoutMs,
    });
    const keys = tls.ticketKeys ?? this.#ticketKeys;
    if (keys !== undefined) server.setTicketKeys(keys);
    server.on('secureConnection', (socket: TLSSocket) => this.#onSecure(socket, runtime, tls));
    if (tls.ocspStapling)
      server.on('OCSPRequest', (cert: Buffer, issuer: Buffer | null, callback) =>
        this.#ocsp.respond(cert, issuer, callback),
      );
    server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
      runtime.counters.errors++;
      if (tlsErrorChannel.hasSubscribers) {
        const raw = streamUnder(socket);
        const origin = raw === undefined ? undefined : this.#origins.get(raw);
        tlsErrorChannel.publish({
          listener: runtime.config.name,
          client: origin?.address ?? plainAddress(socket.remoteAddress),
          code: error.code ?? error.message,
        });
      }
      this.#handshakeFinished(socket);
      socket.destroy();
    });
    runtime.tls = { server, id: tls.id };
  }

  /**
   * setTicketKeys makes every `https` listener (those to come too) without a `sessionTicketKeyFile`
   * encrypt and accept TLS session tickets with `keys` (48 bytes), so that a client resumes its session
   * on any process that shares them: the workers of one instance, or the instances of a fleet. Tickets
   * issued under other keys are refused (the client makes a full handshake).
   */
  setTicketKeys(keys: Buffer): void {
    if (keys.length !== 48) throw new RangeError(`TLS ticket keys are 48 bytes, not ${keys.length}`);
    this.#ticketKeys = Buffer.from(keys);
    for (const runtime of this.#listeners.values())
      if (this.#snapshot.tls.listeners.get(runtime.config.name)?.ticketKeys === undefined)
        runtime.tls?.server.setTicketKeys(this.#ticketKeys);
  }

  /** #handshakeFinished frees the handshake slot of `socket`'s connection. */
  #handshakeFinished(socket: TLSSocket): void {
    const raw = streamUnder(socket);
    if (raw !== undefined) this.#handshakeDone.get(raw)?.();
  }

  #onSecure(socket: TLSSocket, runtime: ListenerRuntime, tls: ListenerTls): void {
    this.#handshakeFinished(socket);
    if (this.#draining) {
      socket.destroy();
      return;
    }
    runtime.counters.handshakes++;
    const raw = streamUnder(socket);
    const origin = raw === undefined ? undefined : this.#origins.get(raw);
    const servername = typeof socket.servername === 'string' ? socket.servername.toLowerCase() : undefined;
    const secure: SecureInfo = {
      lines: tls.subjectHeader === undefined ? '' : clientCertificateLines(socket, tls.subjectHeader),
      drop: tls.subjectHeader === undefined ? undefined : tls.subjectDrop,
      servername,
      version: socket.getProtocol() ?? undefined,
      cipher: socket.getCipher()?.name,
    };
    if (socket.alpnProtocol === 'h2') {
      this.#acceptHttp2(socket, runtime, origin, secure);
      return;
    }
    this.#startHttp(socket, runtime, origin, undefined, secure);
  }

  /** #http2 returns the HTTP/2 front, building it (again) when the HTTP/2 limits changed. */
  #http2(): Http2Front {
    const limits = this.#snapshot.limits;
    if (this.#h2 === undefined || this.#h2.limitsKey !== Http2Front.keyOf(limits))
      this.#h2 = new Http2Front(this, limits);
    return this.#h2;
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
    this.#h2?.drain();
    const deadline = Date.now() + drainTimeoutMs;
    while (this.connectionCount > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const connection of [...this.#connections.keys()]) connection.destroy();
    this.#h2?.destroy();
    for (const socket of this.#unattached) socket.destroy();
    for (const endpoint of this.#registry.all()) this.pool.closeIdle(endpoint);
    this.h2pool.closeAll();
    this.#health.stop();
    this.sweeper.stop();
    this.globalLimits.close();
    await Promise.all([...closed, this.#authAgent?.close()]);
  }
}

/**
 * endpointsLeaving lists the endpoint states the snapshot before `to` used and `to` no longer does: those
 * of the balancers `to` replaced or dropped (an unchanged service keeps its balancer, so costs nothing).
 */
function* endpointsLeaving(to: Snapshot): Generator<EndpointState> {
  if (to.serviceChanges === 'all') return;
  for (const old of to.serviceChanges.dropped) {
    const next = to.services.get(old.name);
    const kept = next === undefined ? undefined : new Set(next.endpoints);
    for (const endpoint of old.endpoints) if (kept === undefined || !kept.has(endpoint)) yield endpoint;
  }
}

/**
 * endpointsNotKept lists the endpoint states of a snapshot that was prepared and then abandoned, that
 * `kept` (the snapshot that stays) does not use.
 */
function* endpointsNotKept(abandoned: Snapshot, kept: Snapshot): Generator<EndpointState> {
  if (abandoned.serviceChanges === 'all') return;
  for (const balancer of abandoned.serviceChanges.added) {
    const stays = kept.services.get(balancer.name);
    const used = stays === undefined ? undefined : new Set(stays.endpoints);
    for (const endpoint of balancer.endpoints) if (used === undefined || !used.has(endpoint)) yield endpoint;
  }
}

/** changesHealthChecks says whether a service with active health checks came, changed or went. */
function changesHealthChecks(changes: ServiceChanges | 'all'): boolean {
  if (changes === 'all') return true;
  const checked = (b: ServiceBalancer) => b.config.healthCheck !== undefined;
  return changes.added.some(checked) || changes.dropped.some(checked);
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

/**
 * streamUnder returns the stream a TLS socket was layered on: the raw socket, or (for TLS over a JS
 * stream, after a PROXY header) that stream, which Node keeps behind its handle.
 */
function streamUnder(socket: TLSSocket): object | undefined {
  const s = socket as unknown as { _parent?: object | null; _handle?: { _parentWrap?: { stream?: object } } };
  return s._parent ?? s._handle?._parentWrap?.stream;
}

/** addressOf is a socket's peer as an origin. */
function addressOf(socket: Socket): { address: string; port: number } {
  return { address: plainAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
}

function plainAddress(address: string | undefined): string {
  const value = address ?? '';
  return value.startsWith('::ffff:') ? value.slice(7) : value;
}

function listenerKey(config: ListenerConfig): string {
  return `${config.name}|${config.address}|${config.port}`;
}

/** createProxy builds a proxy for a validated config; call `listen()` to start serving. */
export function createProxy(config: PorticoConfig, options?: ProxyOptions): PorticoProxy {
  return new PorticoProxy(config, options);
}

/** ProxyOptions are how this process runs the data plane, not part of the config it serves. */
export interface ProxyOptions {
  /**
   * reusePort binds every listener with SO_REUSEPORT (false by default), so that several processes or
   * threads can each bind the same port and the kernel spreads new connections over them (Linux).
   */
  readonly reusePort?: boolean;
  /**
   * activeHealthChecks runs the services' active health checks in this proxy (true by default). A worker
   * whose primary runs them says false, and gets the verdicts through `setEndpointAvailability`.
   */
  readonly activeHealthChecks?: boolean;
  /**
   * ticketKeys are the TLS session ticket keys (48 bytes) of every `https` listener; default: random ones
   * of this process. Processes that share them resume each other's sessions (`setTicketKeys`).
   */
  readonly ticketKeys?: Buffer;
}
