import { connect, type Socket } from 'node:net';
import type { RequestKeys } from '../balancer/request-keys.ts';
import type { ServiceBalancer } from '../balancer/service-balancer.ts';
import type { Deadline, DeadlineSweeper } from '../deadline-sweeper.ts';
import { RelayBuffer } from '../relay-buffer.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { parseClientHello } from './client-hello.ts';
import type { L4Counters } from './l4-counters.ts';
import type { L4Route } from './l4-route.ts';
import { encodeProxyHeader, type ProxyHeader } from './proxy-protocol.ts';

/** States of a TCP session. */
const ROUTING = 0; // reading what routing needs (a ClientHello for passthrough)
const CONNECTING = 1; // upstream connect in progress; client bytes held
const PIPING = 2; // bytes flow both ways
const CLOSED = 3;

/** MAX_ATTEMPTS bounds the endpoints tried when connects fail (nothing was sent yet). */
const MAX_ATTEMPTS = 3;

/** L4Context is what a TCP session needs from the proxy that accepted it. */
export interface L4Context {
  readonly sweeper: DeadlineSweeper;
  sessionClosed(session: TcpSession): void;
}

/**
 * TcpSession is one L4 connection: it routes (to the listener's service, or by the SNI of a ClientHello
 * it reads without terminating TLS), connects to an endpoint chosen by the service's policy (retrying
 * another before any byte is sent), optionally sends a PROXY protocol header, then pipes bytes both ways
 * with backpressure and half-close (a FIN one way keeps the other open), an idle timeout and an optional
 * bandwidth cap per direction.
 */
export class TcpSession implements Deadline, RequestKeys {
  readonly client: Socket;
  deadline = 0;
  readonly #route: L4Route;
  readonly #ctx: L4Context;
  readonly #counters: L4Counters;
  readonly #clientAddress: string;
  readonly #clientPort: number;
  #state = ROUTING;
  #held: Buffer | undefined;
  #service: ServiceBalancer | undefined;
  #endpoint: EndpointState | undefined;
  #upstream: Socket | undefined;
  /** #upstreamReads decides where reads from the upstream land (streams reuse a buffer). */
  readonly #upstreamReads = new RelayBuffer();
  readonly #tried: EndpointState[] = [];
  #clientEnded = false;
  #upstreamEnded = false;
  /** Token buckets for the bandwidth cap, in bytes, one per direction. */
  #upTokens = 0;
  #downTokens = 0;
  #tokensAt = 0;

  constructor(
    client: Socket,
    route: L4Route,
    ctx: L4Context,
    counters: L4Counters,
    proxy: ProxyHeader | undefined,
    initial: Buffer | undefined,
  ) {
    this.client = client;
    this.#route = route;
    this.#ctx = ctx;
    this.#counters = counters;
    const peer = client.remoteAddress ?? '';
    this.#clientAddress =
      proxy !== undefined && !proxy.local
        ? proxy.sourceAddress
        : peer.startsWith('::ffff:')
          ? peer.slice(7)
          : peer;
    this.#clientPort = proxy !== undefined && !proxy.local ? proxy.sourcePort : (client.remotePort ?? 0);
    counters.connections++;
    counters.active++;
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.#onClientData(chunk));
    client.on('end', () => this.#onClientEnd());
    client.on('drain', () => this.#upstream?.resume());
    client.on('error', () => this.#close(true));
    client.on('close', () => this.#close(false));
    ctx.sweeper.add(this);
    if (route.sni !== undefined) {
      this.deadline = Date.now() + route.config.clientHelloTimeoutMs;
      if (initial !== undefined) this.#onClientData(initial);
    } else {
      this.#held = initial;
      this.#begin(route.service);
    }
  }

  // ---- RequestKeys (hash policies and affinity on L4 see only the client address) -----------

  clientAddress(): string {
    return this.#clientAddress;
  }
  header(): undefined {
    return undefined;
  }
  cookie(): undefined {
    return undefined;
  }
  path(): string {
    return '/';
  }
  query(): undefined {
    return undefined;
  }

  // ---- routing ------------------------------------------------------------------------------

  #onClientData(chunk: Buffer): void {
    if (this.#state === PIPING) {
      this.#forward(chunk, this.#upstream!, this.client, true);
      return;
    }
    this.#held = this.#held === undefined ? chunk : Buffer.concat([this.#held, chunk]);
    if (this.#state === CONNECTING) {
      this.client.pause();
      return;
    }
    const parsed = parseClientHello(this.#held);
    if (parsed.kind === 'more') return;
    const sni = this.#route.sni!;
    const rule =
      parsed.kind === 'hello' && parsed.info.serverName !== undefined
        ? sni.match(parsed.info.serverName, '/')
        : undefined;
    this.#begin(rule?.target ?? this.#route.defaultService);
  }

  #begin(service: ServiceBalancer | undefined): void {
    if (service === undefined) {
      this.#counters.unrouted++;
      this.#close(true);
      return;
    }
    this.#service = service;
    service.state.active++;
    this.#state = CONNECTING;
    this.client.pause();
    this.#connect();
  }

  #connect(): void {
    const service = this.#service!;
    const choice =
      this.#tried.length >= MAX_ATTEMPTS ? undefined : service.choose(this, this.#tried).endpoint;
    if (choice === undefined) {
      this.#counters.errors++;
      this.#close(true);
      return;
    }
    this.#tried.push(choice);
    this.#endpoint = choice;
    choice.active++;
    choice.requests++;
    const upstream: Socket = connect({
      host: choice.address,
      port: choice.port,
      noDelay: true,
      allowHalfOpen: true,
      onread: {
        buffer: () => this.#upstreamReads.next(),
        callback: (n: number, buffer: Uint8Array): boolean => this.#onUpstreamRead(upstream, n, buffer),
      },
    });
    this.#upstream = upstream;
    this.deadline = Date.now() + this.#route.connectTimeoutMs;
    upstream.once('connect', () => this.#onConnect(upstream));
    upstream.on('error', () => this.#onUpstreamError(upstream));
    upstream.on('close', () => this.#onUpstreamError(upstream));
  }

  #onUpstreamError(upstream: Socket): void {
    if (upstream !== this.#upstream) return;
    if (this.#state === CONNECTING) {
      this.#releaseEndpoint();
      this.#service!.recordFailure(this.#tried.at(-1)!);
      this.#upstream = undefined;
      upstream.destroy();
      this.#connect(); // nothing was sent: another endpoint may take it
      return;
    }
    if (this.#state === PIPING && !this.#upstreamEnded) this.#close(true);
  }

  #onConnect(upstream: Socket): void {
    if (upstream !== this.#upstream || this.#state !== CONNECTING) return;
    this.#service!.recordSuccess(this.#endpoint!);
    this.#state = PIPING;
    this.deadline = Date.now() + this.#route.config.idleTimeoutMs;
    const version = this.#service!.config.proxyProtocol;
    if (version !== undefined) {
      upstream.write(
        encodeProxyHeader(version, {
          sourceAddress: this.#clientAddress,
          sourcePort: this.#clientPort,
          destinationAddress: this.client.localAddress ?? '127.0.0.1',
          destinationPort: this.client.localPort ?? 0,
        }),
      );
    }
    upstream.on('end', () => this.#onUpstreamEnd());
    upstream.on('drain', () => this.client.resume());
    const held = this.#held;
    this.#held = undefined;
    this.client.resume();
    if (held !== undefined) this.#forward(held, upstream, this.client, true); // pauses the client again if upstream is full
    if (this.#clientEnded) upstream.end();
  }

  // ---- piping ---------------------------------------------------------------------------------

  /** #onUpstreamRead relays `n` bytes read from the upstream into `buffer` to the client. */
  #onUpstreamRead(upstream: Socket, n: number, buffer: Uint8Array): boolean {
    const chunk = this.#upstreamReads.take(n, buffer);
    if (upstream !== this.#upstream || this.#state !== PIPING) return false;
    this.#forward(chunk, this.client, upstream, false); // pauses the upstream when the client is full
    this.#upstreamReads.written(this.client.writableLength === 0);
    return true;
  }

  /** #forward writes a chunk one way, honouring backpressure, the idle timeout and the bandwidth cap. */
  #forward(chunk: Buffer, to: Socket, from: Socket, upward: boolean): void {
    const now = Date.now();
    this.deadline = now + this.#route.config.idleTimeoutMs;
    const flushed = to.write(chunk);
    const cap = this.#route.config.maxBytesPerSecond;
    if (cap > 0) {
      if (now - this.#tokensAt >= 1_000) {
        this.#tokensAt = now;
        this.#upTokens = cap;
        this.#downTokens = cap;
      }
      let left: number;
      if (upward) {
        this.#upTokens -= chunk.length;
        left = this.#upTokens;
      } else {
        this.#downTokens -= chunk.length;
        left = this.#downTokens;
      }
      if (left < 0) {
        from.pause(); // over budget: resume when the next second's budget covers the debt
        setTimeout(
          () => {
            if (this.#state === PIPING) from.resume();
          },
          Math.ceil((-left / cap) * 1_000) + Math.max(0, 1_000 - (now - this.#tokensAt)),
        ).unref();
        return;
      }
    }
    if (!flushed) from.pause();
  }

  #onClientEnd(): void {
    this.#clientEnded = true;
    if (this.#state === PIPING)
      this.#upstream!.end(); // half-close: the other direction stays open
    else if (this.#state === ROUTING) this.client.end();
  }

  #onUpstreamEnd(): void {
    this.#upstreamEnded = true;
    this.client.end();
  }

  onDeadline(): void {
    this.deadline = 0;
    if (this.#state === CONNECTING && this.#upstream !== undefined) {
      const upstream = this.#upstream;
      this.#onUpstreamError(upstream); // connect timeout: next endpoint
      return;
    }
    if (this.#state === ROUTING) {
      this.#begin(this.#route.defaultService); // no complete ClientHello in time: the default, if any
      return;
    }
    this.#close(true); // idle timeout
  }

  #releaseEndpoint(): void {
    const endpoint = this.#endpoint;
    if (endpoint === undefined) return;
    this.#endpoint = undefined;
    endpoint.active--;
    const upstream = this.#upstream;
    if (upstream !== undefined) {
      endpoint.bytesOut += upstream.bytesWritten;
      endpoint.bytesIn += upstream.bytesRead;
    }
  }

  #close(error: boolean): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.deadline = 0;
    if (error) this.#counters.errors++;
    this.#counters.active--;
    this.#counters.bytesIn += this.client.bytesRead;
    this.#counters.bytesOut += this.client.bytesWritten;
    this.#releaseEndpoint();
    if (this.#service !== undefined) this.#service.state.active--;
    if (error) {
      this.#upstream?.destroy();
      this.client.destroy();
    } // else both directions ended cleanly and the sockets close by themselves
    this.#ctx.sweeper.delete(this);
    this.#ctx.sessionClosed(this);
  }

  /** destroy closes both sides at once. */
  destroy(): void {
    this.#close(true);
  }
}
