import { createServer, type Server, type Socket } from 'node:net';

/**
 * ScriptedBackend is a raw TCP server whose reply to each request head is chosen by a function, written
 * byte for byte, so tests can send the malformed, slow, or unusual responses real servers rarely do.
 */
export class ScriptedBackend {
  readonly server: Server;
  readonly #sockets = new Set<Socket>();
  heads: string[] = [];

  private constructor(reply: (head: string, socket: Socket) => void) {
    this.server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        let end = buffered.indexOf('\r\n\r\n');
        while (end >= 0) {
          const head = buffered.slice(0, end);
          buffered = buffered.slice(end + 4);
          this.heads.push(head);
          reply(head, socket);
          end = buffered.indexOf('\r\n\r\n');
        }
      });
    });
  }

  static async start(reply: (head: string, socket: Socket) => void): Promise<ScriptedBackend> {
    const backend = new ScriptedBackend(reply);
    await new Promise<void>((resolve) => backend.server.listen(0, '127.0.0.1', resolve));
    return backend;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
