import type { Snapshot } from '../snapshot.ts';

/**
 * SecureInfo is what a TLS connection adds to each request: `lines` (the client certificate's subject) sent
 * upstream, replacing the client's own fields named in `drop`.
 */
export interface SecureInfo {
  readonly lines: string;
  readonly drop: ReadonlySet<string> | undefined;
  /** servername is the SNI the client sent (lower case), if any. */
  readonly servername: string | undefined;
  /** version is the TLS version negotiated (`TLSv1.3`), and cipher its cipher suite, for access logs. */
  readonly version?: string | undefined;
  readonly cipher?: string | undefined;
}

/**
 * ClientInfo is what the exchanges of one client connection (an HTTP/1.1 connection, an HTTP/2 session,
 * a `node:http` socket) share: where it came from and how, and its forwarding lines, rendered once per
 * snapshot rather than per request.
 */
export class ClientInfo {
  /** peer is the client's address: the PROXY protocol's source, or the socket's peer. */
  readonly peer: string;
  /** localPort is the port the client connected to. */
  readonly localPort: number;
  /** listener is the name of the listener that accepted the connection ('' when embedded). */
  readonly listener: string;
  /** scheme is `https` when Portico terminated TLS for the connection. */
  readonly scheme: 'http' | 'https';
  readonly secure: SecureInfo | undefined;
  #forwarded = '';
  #trusted = false;
  #version = -1;

  constructor(peer: string, localPort: number, listener: string, secure: SecureInfo | undefined) {
    this.peer = peer.startsWith('::ffff:') ? peer.slice(7) : peer;
    this.localPort = localPort;
    this.listener = listener;
    this.scheme = secure === undefined ? 'http' : 'https';
    this.secure = secure;
  }

  /** trusted tells whether `snapshot` trusts the peer's forwarding fields. */
  trusted(snapshot: Snapshot): boolean {
    this.#refresh(snapshot);
    return this.#trusted;
  }

  /** connectionLines are the forwarding lines shared by every request from an untrusted peer, plus TLS details. */
  connectionLines(snapshot: Snapshot): string {
    this.#refresh(snapshot);
    return this.#forwarded;
  }

  #refresh(snapshot: Snapshot): void {
    if (this.#version === snapshot.version) return;
    this.#version = snapshot.version;
    const forwarding = snapshot.forwarding;
    this.#trusted = forwarding.trusts(this.peer);
    this.#forwarded =
      forwarding.connectionLines(this.peer, this.localPort, this.scheme) + (this.secure?.lines ?? '');
  }
}
