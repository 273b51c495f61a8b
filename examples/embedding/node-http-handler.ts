/**
 * Portico inside an existing `node:http` server: the app answers `/healthz` itself and hands every
 * other request to Portico's handler, which routes (Ingress semantics) and balances over its services.
 *
 *   node examples/embedding/node-http-handler.ts     # 127.0.0.1:3002 (PORT=0 picks a free port)
 *   curl -H 'Host: api.example' http://127.0.0.1:3002/v1/orders
 *
 * The services here are two small backends started by this file, so the example runs on its own.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '@portico/config';
import { createHandler } from '@portico/proxy';

async function backend(name: string): Promise<number> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      `${JSON.stringify({ servedBy: name, url: req.url, forwardedFor: req.headers['x-forwarded-for'] })}\n`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const [a, b] = await Promise.all([backend('orders-a'), backend('orders-b')]);
const portico = createHandler(
  parseConfig({
    listeners: [{ name: 'embedded', port: 0 }], // not bound: the app owns its server
    routes: [{ host: 'api.example', paths: [{ path: '/v1', service: 'orders' }], rewriteTarget: '/' }],
    services: [
      {
        name: 'orders',
        endpoints: [
          { address: '127.0.0.1', port: a },
          { address: '127.0.0.1', port: b },
        ],
      },
    ],
  }),
);

const app = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok\n');
    return;
  }
  void portico.handle(req, res);
});
app.listen(Number(process.env['PORT'] ?? 3002), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(app.address() as AddressInfo).port}`);
});
