import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/**
 * prefixedStream presents `socket` as a stream that first yields `prefix`: bytes already read from it (after
 * a PROXY protocol header) that TLS must still see. It costs a JS stream layer, so it is used only then.
 */
export function prefixedStream(socket: Socket, prefix: Buffer): Duplex {
  const stream = new Duplex({
    allowHalfOpen: true,
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  stream.push(prefix);
  socket.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  socket.on('error', (error) => stream.destroy(error));
  return stream;
}
