import type { Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import { type ClientHelloInfo, parseClientHello } from '../l4/client-hello.ts';
import { nodeTls } from '../lazy-modules.ts';
import { ACME_TLS_ALPN, type AcmeChallenges } from '../pipeline/acme-challenges.ts';
import { prefixedStream } from './prefixed-stream.ts';

/**
 * readClientHello reads a connection's ClientHello ahead of TLS, without consuming it: `done` gets the
 * bytes read (to hand on) and the hello, or undefined when the bytes are not a ClientHello. A client that
 * sends no complete ClientHello within `timeoutMs` is disconnected; `done` is not called then.
 */
export function readClientHello(
  socket: Socket,
  first: Buffer | undefined,
  timeoutMs: number,
  done: (read: Buffer, hello: ClientHelloInfo | undefined) => void,
): void {
  let read = first ?? Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  timer.unref();
  const settle = (): boolean => {
    const parsed = parseClientHello(read);
    if (parsed.kind === 'more') return false;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.pause();
    done(read, parsed.kind === 'hello' ? parsed.info : undefined);
    return true;
  };
  const onData = (chunk: Buffer) => {
    read = read.length === 0 ? chunk : Buffer.concat([read, chunk]);
    settle();
  };
  const onClose = () => clearTimeout(timer);
  if (read.length > 0 && settle()) return;
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', () => {});
  socket.resume();
}

/**
 * AcmeTlsAlpnResponder completes RFC 8737's TLS-ALPN-01 handshakes: it negotiates `acme-tls/1` with the
 * challenge certificate held for the requested host, then closes the connection (the validator sends no
 * application data). Its TLS server is built on first use.
 */
export class AcmeTlsAlpnResponder {
  readonly #challenges: AcmeChallenges;
  #server: TlsServer | undefined;

  constructor(challenges: AcmeChallenges) {
    this.#challenges = challenges;
  }

  /** answers says whether this ClientHello is a TLS-ALPN-01 validation for a host with a challenge held. */
  answers(hello: ClientHelloInfo | undefined): boolean {
    return (
      hello?.serverName !== undefined &&
      hello.alpn.includes(ACME_TLS_ALPN) &&
      this.#challenges.tlsAlpnContext(hello.serverName) !== undefined
    );
  }

  /** answer runs the challenge handshake on `socket`, whose first bytes (`read`) were read ahead. */
  answer(socket: Socket, read: Buffer): void {
    this.#server ??= this.#build();
    this.#server.emit('connection', prefixedStream(socket, read));
  }

  #build(): TlsServer {
    const server = new (nodeTls().Server)({
      SNICallback: (servername, callback) => {
        const context = this.#challenges.tlsAlpnContext(servername);
        if (context === undefined) callback(new Error(`no TLS-ALPN-01 challenge for ${servername}`));
        else callback(null, context);
      },
      ALPNProtocols: [ACME_TLS_ALPN],
      handshakeTimeout: 10_000,
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      socket.on('error', () => {});
      socket.end();
    });
    server.on('tlsClientError', (_error, socket: TLSSocket) => socket.destroy());
    return server;
  }
}
