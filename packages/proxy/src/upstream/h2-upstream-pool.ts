import type { ClientHttp2Session } from 'node:http2';
import { http2 } from '../lazy-modules.ts';
import type { EndpointState } from './endpoint-state.ts';

/** MAX_SESSIONS_PER_ENDPOINT bounds the HTTP/2 connections to one endpoint: 4. */
const MAX_SESSIONS_PER_ENDPOINT = 4;
/** MAX_STREAMS_PER_SESSION is the most streams Portico puts on one session before opening another: 100. */
const MAX_STREAMS_PER_SESSION = 100;

function ignore(): void {}

/** UpstreamSession is one HTTP/2 connection to an endpoint, with the streams Portico has open on it. */
interface UpstreamSession {
  readonly session: ClientHttp2Session;
  streams: number;
  /** connected is true once the connection (and TLS) is up. */
  connected: boolean;
}

/**
 * H2UpstreamPool multiplexes requests to HTTP/2 endpoints (`services[].protocol: http2`) over a small pool
 * of sessions per endpoint: h2 negotiated by ALPN over TLS when the service has `tls`, prior-knowledge h2c
 * otherwise. A request takes the least busy session with room (its peer's SETTINGS_MAX_CONCURRENT_STREAMS,
 * at most MAX_STREAMS_PER_SESSION), opening another up to MAX_SESSIONS_PER_ENDPOINT. A session that gets
 * GOAWAY takes no new streams; one without streams for `idleMs` is closed.
 */
export class H2UpstreamPool {
  readonly #sessions = new Map<EndpointState, UpstreamSession[]>();
  #idleMs: number;

  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  /** configure sets the idle timeout of sessions opened from now on. */
  configure(idleMs: number): void {
    this.#idleMs = idleMs;
  }

  /** acquire returns a session to `endpoint` for one more stream; call `release` when the stream closes. */
  acquire(endpoint: EndpointState): UpstreamSession {
    let list = this.#sessions.get(endpoint);
    if (list === undefined) {
      list = [];
      this.#sessions.set(endpoint, list);
    }
    let best: UpstreamSession | undefined;
    for (const entry of list) {
      const max = Math.min(
        entry.session.remoteSettings?.maxConcurrentStreams ?? 100,
        MAX_STREAMS_PER_SESSION,
      );
      if (entry.streams < max && (best === undefined || entry.streams < best.streams)) best = entry;
    }
    if (best === undefined && list.length >= MAX_SESSIONS_PER_ENDPOINT) {
      best = list.reduce((a, b) => (b.streams < a.streams ? b : a)); // nghttp2 queues beyond the limit
    }
    if (best === undefined) best = this.#open(endpoint, list);
    best.streams++;
    return best;
  }

  /** release gives back the stream slot `acquire` took. */
  release(entry: UpstreamSession): void {
    entry.streams--;
  }

  /** closeIdle closes every session to `endpoint` once its streams are done. */
  closeIdle(endpoint: EndpointState): void {
    const list = this.#sessions.get(endpoint);
    if (list === undefined) return;
    this.#sessions.delete(endpoint);
    for (const { session } of list) session.close();
  }

  /** closeAll closes every session at once. */
  closeAll(): void {
    for (const list of this.#sessions.values()) for (const { session } of list) session.destroy();
    this.#sessions.clear();
  }

  #open(endpoint: EndpointState, list: UpstreamSession[]): UpstreamSession {
    const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
    const tls = endpoint.tls;
    const session =
      tls === undefined
        ? http2().connect(`http://${host}:${endpoint.port}`)
        : http2().connect(`https://${host}:${endpoint.port}`, { ...tls.options, ALPNProtocols: ['h2'] });
    endpoint.connections++;
    const entry: UpstreamSession = { session, streams: 0, connected: false };
    session.once('connect', () => {
      entry.connected = true;
    });
    list.push(entry);
    const forget = () => {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    };
    session.on('error', ignore); // each stream hears of it; the session is then closed
    session.once('goaway', forget);
    session.once('close', () => {
      forget();
      endpoint.connections--;
    });
    session.setTimeout(this.#idleMs, () => {
      if (entry.streams === 0) session.close();
    });
    return entry;
  }
}

export type { UpstreamSession };
