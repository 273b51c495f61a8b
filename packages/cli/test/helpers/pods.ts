import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Pod is an HTTP server standing in for a pod: its own loopback address, a shared port. */
export interface Pod {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  requests: number;
  close(): Promise<void>;
}

async function listen(server: Server, address: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/**
 * startPods starts one server per name on 127.0.0.2, 127.0.0.3... all on one port, as pods of a
 * Deployment share a container port. Each answers 200 with `{"pod": name}` and what it received
 * (`host`, `url`, `method`, `headers`).
 */
export async function startPods(names: readonly string[], firstHost = 2): Promise<Pod[]> {
  const pods: Pod[] = [];
  let port = 0;
  for (const [i, name] of names.entries()) {
    const sockets = new Set<Socket>();
    const pod: Pod = {
      name,
      address: `127.0.0.${firstHost + i}`,
      port: 0,
      requests: 0,
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    };
    const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
      pod.requests++;
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        // x-echo-set-header: "Name:value,Other:value" sets response fields, as the conformance echo server does.
        const echo = req.headers['x-echo-set-header'];
        if (typeof echo === 'string')
          for (const pair of echo.split(',')) {
            const colon = pair.indexOf(':');
            if (colon > 0) res.appendHeader(pair.slice(0, colon).trim(), pair.slice(colon + 1).trim());
          }
        res.end(
          JSON.stringify({
            pod: name,
            host: req.headers.host,
            url: req.url,
            method: req.method,
            headers: req.headers,
          }),
        );
      });
    });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    port = await listen(server, pod.address, port);
    (pod as { port: number }).port = port;
    pods.push(pod);
  }
  return pods;
}
