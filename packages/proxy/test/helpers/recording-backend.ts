import { createServer, type Server, type Socket } from 'node:net';

/**
 * RecordingBackend is a raw TCP server that records every byte it receives and answers each connection's
 * first request with a fixed response, so tests can assert exactly what Portico sent upstream.
 */
export class RecordingBackend {
  readonly server: Server;
  received = '';
  connections = 0;
  readonly #sockets = new Set<Socket>();

  private constructor(response: string) {
    this.server = createServer((socket) => {
      this.connections++;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        this.received += chunk.toString('latin1');
        if (seen.includes('\r\n\r\n')) return;
        seen += chunk.toString('latin1');
        if (seen.includes('\r\n\r\n')) socket.write(response);
      });
      socket.on('error', () => {});
    });
  }

  static async start(response = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'): Promise<RecordingBackend> {
    const backend = new RecordingBackend(response);
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
