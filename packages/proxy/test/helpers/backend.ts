import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Backend is a real HTTP server on 127.0.0.1 that answers with what it received, for tests. */
export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  /** connections counts TCP connections the backend accepted. */
  connections: number;
  /** requests counts requests it answered. */
  requests: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, backend: Backend) => void;

/**
 * startBackend starts a backend; by default it answers `name method url` plus the body length and the
 * headers it got, as JSON. Pass `handler` to answer differently.
 */
export async function startBackend(name: string, handler?: Handler): Promise<Backend> {
  const sockets = new Set<Socket>();
  const backend: Backend = {
    name,
    port: 0,
    server: undefined as unknown as Server,
    connections: 0,
    requests: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => backend.server.close(resolve));
    },
  };
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    backend.requests++;
    if (handler) {
      handler(req, res, backend);
      return;
    }
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ backend: name, method: req.method, url: req.url, bytes, headers: req.headers }),
      );
    });
  });
  server.on('connection', (socket: Socket) => {
    backend.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(backend, { server, port: (server.address() as AddressInfo).port });
  return backend;
}
