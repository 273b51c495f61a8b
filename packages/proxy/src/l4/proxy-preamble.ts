import type { Socket } from 'node:net';
import { looksLikeProxyHeader, type ProxyHeader, parseProxyHeader } from './proxy-protocol.ts';

/** PREAMBLE_TIMEOUT_MS bounds the wait for a PROXY header from a trusted source. */
const PREAMBLE_TIMEOUT_MS = 5_000;

/**
 * readProxyPreamble reads the PROXY protocol header a listener behind a load balancer receives. From a
 * trusted source the header is required; from anyone else a header is refused (the connection closed),
 * and a connection without one goes on as is. `done` gets the header (if any) and the bytes after it;
 * it is not called when the connection was closed.
 */
export function readProxyPreamble(
  socket: Socket,
  trusted: boolean,
  done: (header: ProxyHeader | undefined, rest: Buffer | undefined) => void,
): void {
  let buffered: Buffer | undefined;
  const timer = setTimeout(() => socket.destroy(), PREAMBLE_TIMEOUT_MS);
  timer.unref();
  const finish = (header: ProxyHeader | undefined, rest: Buffer | undefined) => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    done(header, rest !== undefined && rest.length > 0 ? rest : undefined);
  };
  const onClose = () => clearTimeout(timer);
  const onData = (chunk: Buffer) => {
    buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
    if (!trusted) {
      if (looksLikeProxyHeader(buffered)) {
        if (buffered.length >= 12) socket.destroy(); // a PROXY header from an untrusted source
        return;
      }
      finish(undefined, buffered);
      return;
    }
    const parsed = parseProxyHeader(buffered);
    if (parsed.kind === 'more') return;
    if (parsed.kind === 'invalid') {
      socket.destroy();
      return;
    }
    finish(parsed.header, buffered.subarray(parsed.length));
  };
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', () => {});
  socket.resume(); // an https listener's sockets start paused (they are read by TLS)
}
