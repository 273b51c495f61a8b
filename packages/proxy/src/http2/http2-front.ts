import type { Http2Server, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { LimitsConfig } from '@portico/config';
import type { ConnectionContext } from '../http/connection-context.ts';
import { headerListRequestHead } from '../http/header-list-request-head.ts';
import { http2 } from '../lazy-modules.ts';
import { ClientInfo, type SecureInfo } from '../pipeline/client-info.ts';
import { PorticoProxyError } from '../proxy-error.ts';
import type { SourceLimits } from '../source-limits.ts';
import { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_FLAG_END_STREAM } from './h2-constants.ts';
import { H2Stream } from './h2-stream.ts';

function ignore(): void {}

/** GOAWAY_FLUSH_MS is how long a session closed for abuse lives after its GOAWAY, so the client sees why. */
const GOAWAY_FLUSH_MS = 50;

/**
 * GOAWAY_LINGER_MS is how often a session the client sent GOAWAY on is checked, and so how long its
 * socket outlives the session at most, waiting for the client's FIN (Node ends its side and waits); 1 s.
 */
const GOAWAY_LINGER_MS = 1_000;

/** H2ConnectionInfo describes one client connection handed to HTTP/2. */
export interface H2ConnectionInfo {
  /** remoteAddress is the client's address (the PROXY protocol's source, or the socket's peer). */
  readonly remoteAddress: string;
  readonly localPort: number;
  readonly listener: string;
  /** peer is the TCP peer's address, which `sources` keys its budgets by. */
  readonly peer: string;
  /** sources is the listener's per-address budget, charged for every stream the client cancels. */
  readonly sources: SourceLimits;
  /** secure is set when Portico terminated TLS. */
  readonly secure: SecureInfo | undefined;
}

interface SessionState {
  readonly info: H2ConnectionInfo;
  /** client is what every stream of the session shares about the connection. */
  readonly client: ClientInfo;
  /** resets counts streams the client cancelled in the current one-second window starting at `windowAt`. */
  resets: number;
  windowAt: number;
  /** calmed is set once the session got its GOAWAY, so it is closed and counted once. */
  calmed: boolean;
}

/** Http2Counters count what happened to HTTP/2 sessions since start. */
export interface Http2Counters {
  sessions: number;
  streams: number;
  /** refused counts requests answered 4xx because their head could not be mapped (invalid, CONNECT). */
  refused: number;
  /** calmed counts sessions closed with ENHANCE_YOUR_CALM for cancelling too many streams (rapid reset). */
  calmed: number;
}

/**
 * Http2Front speaks HTTP/2 to clients (after ALPN `h2`, or prior-knowledge h2c) and hands each stream to
 * the engine as an `H2Stream`, the same pipeline an HTTP/1.1 request takes. Node's HTTP/2 stack (nghttp2) enforces the protocol: frame and HPACK
 * validity, pseudo-header rules, connection-specific fields, CONTINUATION limits. Portico sets the limits
 * clients control (`limits.http2*`): concurrent streams (beyond them REFUSED_STREAM), the header list size,
 * and a cap on streams cancelled per second, over which the session gets GOAWAY ENHANCE_YOUR_CALM.
 */
export class Http2Front {
  readonly counters: Http2Counters = { sessions: 0, streams: 0, refused: 0, calmed: 0 };
  readonly #ctx: ConnectionContext;
  readonly #server: Http2Server;
  readonly #sessions = new Map<Http2Session, SessionState>();
  readonly #maxResetsPerSecond: number;
  /** #next is the connection `accept` is handing to the HTTP/2 server, read by #onSession. */
  #next: { readonly socket: Duplex; readonly info: H2ConnectionInfo } | undefined;
  /** limitsKey identifies the limits this front was built with; a change builds a new front. */
  readonly limitsKey: string;

  constructor(ctx: ConnectionContext, limits: LimitsConfig) {
    this.#ctx = ctx;
    this.#maxResetsPerSecond = limits.http2MaxResetsPerSecond;
    this.limitsKey = Http2Front.keyOf(limits);
    this.#server = http2().createServer({
      settings: {
        maxConcurrentStreams: limits.http2MaxConcurrentStreams,
        maxHeaderListSize: limits.http2MaxHeaderListBytes,
        enablePush: false,
      },
      maxHeaderListPairs: limits.maxHeaderCount + 4, // the pseudo-headers come on top of the fields
      maxSessionMemory: 32, // MiB of buffered frames per session
      maxSettings: 32,
    });
    this.#server.on('session', (session: Http2Session) => this.#onSession(session));
    this.#server.on('stream', (stream, headers, flags) => this.#onStream(stream, headers, flags));
  }

  /** keyOf identifies the limits a front depends on. */
  static keyOf(limits: LimitsConfig): string {
    return `${limits.http2MaxConcurrentStreams}|${limits.http2MaxHeaderListBytes}|${limits.http2MaxResetsPerSecond}|${limits.maxHeaderCount}`;
  }

  /** sessionCount is the number of open HTTP/2 connections. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** accept speaks HTTP/2 on `socket` (bytes already read stay in its buffer and are parsed first). */
  accept(socket: Duplex, info: H2ConnectionInfo): void {
    this.#next = { socket, info };
    this.#server.emit('connection', socket);
    this.#next = undefined;
  }

  /** drain sends GOAWAY to every session: streams in flight finish, new ones are refused. */
  drain(): void {
    for (const session of this.#sessions.keys()) if (!session.closed) session.close();
  }

  /** destroy closes every session at once. */
  destroy(): void {
    for (const session of this.#sessions.keys()) session.destroy();
  }

  #onSession(session: Http2Session): void {
    const next = this.#next;
    if (next === undefined) {
      session.destroy();
      return;
    }
    this.counters.sessions++;
    const info = next.info;
    const state: SessionState = {
      info,
      client: new ClientInfo(info.remoteAddress, info.localPort, info.listener, info.secure),
      resets: 0,
      windowAt: Date.now(),
      calmed: false,
    };
    this.#sessions.set(session, state);
    session.on('close', () => this.#sessions.delete(session));
    // On a client's GOAWAY Node closes the session: streams in flight finish, new ones are refused.
    session.once('goaway', () => releaseWhenDone(session, next.socket));
    // A client that sent FIN can no longer acknowledge data or send frames: release the session now
    // rather than after the idle timeout (Node's server keeps a half-closed socket open).
    next.socket.once('end', () => session.destroy());
    session.on('error', () => session.destroy());
    session.setTimeout(this.#ctx.snapshot.timeouts.clientIdleMs, () => session.close());
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
    stream.on('error', ignore); // a reset stream's error is the session's business, counted there
    const state = this.#sessions.get(stream.session!);
    if (state === undefined) {
      stream.close();
      return;
    }
    this.counters.streams++;
    stream.once('aborted', () => this.#onReset(stream.session!, state));
    const ended = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    const snapshot = this.#ctx.snapshot;
    const listener = state.info.listener;
    const parsing = snapshot.requestParsing.get(listener) ?? snapshot.config.requestParsing;
    const req = headerListRequestHead(headers, ended, snapshot.limits, parsing);
    if (req instanceof PorticoProxyError) this.counters.refused++;
    new H2Stream(stream, state.client, this.#ctx, ended).start(req);
  }

  /**
   * #onReset counts a stream the client cancelled (CVE-2023-44487): too many in a second on this session,
   * or from this client address over all its sessions (`perSource.resetStreamsPerSecond`), closes the
   * session; the listener then refuses the address's new connections for a second.
   */
  #onReset(session: Http2Session, state: SessionState): void {
    const now = Date.now();
    if (now - state.windowAt >= 1_000) {
      state.windowAt = now;
      state.resets = 0;
    }
    const withinSource = state.info.sources.chargeReset(state.info.peer, now);
    const tooMany = ++state.resets > this.#maxResetsPerSecond || !withinSource;
    if (tooMany && !state.calmed && !session.destroyed) {
      state.calmed = true;
      this.counters.calmed++;
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
      setTimeout(() => session.destroy(), GOAWAY_FLUSH_MS).unref(); // let the GOAWAY reach the client
    }
  }
}

/**
 * releaseWhenDone closes the socket of a session that is closing once Node has destroyed the session
 * (its streams are done), checking every GOAWAY_LINGER_MS: Node then only ends its side and waits for
 * the client's FIN, which a client may never send.
 */
function releaseWhenDone(session: Http2Session, socket: Duplex): void {
  const check = setInterval(() => {
    if (!session.destroyed && !socket.destroyed) return;
    clearInterval(check);
    socket.destroy();
  }, GOAWAY_LINGER_MS);
  check.unref();
}
