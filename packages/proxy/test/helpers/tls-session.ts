import { connect } from 'node:tls';

/**
 * resumeSession connects to `servername` on `port` (resuming `session` when given), asks for `/` with
 * `connection: close`, and returns whether the session was resumed and the ticket it got (TLS 1.3
 * tickets come after the handshake, hence the request).
 */
export function resumeSession(
  port: number,
  servername: string,
  session: Buffer | undefined,
  maxVersion: 'TLSv1.2' | 'TLSv1.3',
): Promise<{ reused: boolean; ticket: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      maxVersion,
      ...(session === undefined ? {} : { session }),
    });
    socket.on('session', (s: Buffer) => {
      ticket = s;
    });
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const reused = socket.isSessionReused();
      // TLS 1.3 tickets come after the handshake: ask for a response, then read the ticket.
      socket.write(`GET / HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
      socket.resume();
      socket.once('end', () => {
        socket.destroy();
        resolve({ reused, ticket });
      });
    });
  });
}
