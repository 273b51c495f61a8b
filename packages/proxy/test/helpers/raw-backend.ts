import { createServer, type Server, type Socket } from 'node:net';

/**
 * RawBackend is a raw TCP server on 127.0.0.1 for tests that need to see or write exact bytes. It keeps
 * its sockets so `close()` ends them all; subclasses say what happens on each connection.
 */
export abstract class RawBackend {
  readonly server: Server;
  readonly #sockets = new Set<Socket>();

  protected constructor() {
    this.server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
      this.onConnection(socket);
    });
  }

  /** onConnection is called once for each accepted socket. */
  protected abstract onConnection(socket: Socket): void;

  /** listen binds an ephemeral port on 127.0.0.1 and resolves with the backend. */
  protected static async listen<T extends RawBackend>(backend: T): Promise<T> {
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
