/**
 * Portico inside a Fastify app: Fastify keeps its own routes, and requests none of them match go to
 * Portico's handler (`reply.hijack()` hands the raw response over).
 *
 *   node examples/embedding/fastify-handler.ts       # 127.0.0.1:3003 (PORT=0 picks a free port)
 *   curl -H 'Host: shop.example' http://127.0.0.1:3003/cart
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '@portico/config';
import { createHandler } from '@portico/proxy';
import Fastify from 'fastify';

const cart = createServer((req, res) => res.end(`${JSON.stringify({ servedBy: 'cart', url: req.url })}\n`));
await new Promise<void>((resolve) => cart.listen(0, '127.0.0.1', resolve));

const portico = createHandler(
  parseConfig({
    listeners: [{ name: 'embedded', port: 0 }],
    routes: [{ host: 'shop.example', paths: [{ path: '/cart', service: 'cart' }] }],
    services: [
      { name: 'cart', endpoints: [{ address: '127.0.0.1', port: (cart.address() as AddressInfo).port }] },
    ],
  }),
);

const app = Fastify();
app.get('/app/info', async () => ({ app: 'fastify' }));
app.setNotFoundHandler((request, reply) => {
  reply.hijack();
  void portico.handle(request.raw, reply.raw);
});
app.addHook('onClose', () => portico.close());

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 3003) });
console.log(`listening on ${address}`);
