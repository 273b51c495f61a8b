/**
 * Portico inside a Fastify app: Fastify keeps its own routes, and requests none of them match go to
 * Portico's handler (`reply.hijack()` hands the raw response over), bodies streamed through unparsed.
 *
 *   node examples/embedding/fastify-handler.ts       # 127.0.0.1:3003 (PORT=0 picks a free port)
 *   curl -H 'Host: shop.example' http://127.0.0.1:3003/cart
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '@portico/config';
import { createHandler } from '@portico/proxy';
import Fastify from 'fastify';

const cart = createServer((req, res) => {
  // Reports what arrived, so the body's trip through Fastify and Portico can be checked.
  let bytes = 0;
  const hash = createHash('sha256');
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    const body =
      bytes === 0 ? {} : { contentType: req.headers['content-type'], bytes, sha256: hash.digest('hex') };
    res.end(`${JSON.stringify({ servedBy: 'cart', url: req.url, ...body })}\n`);
  });
});
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
// Everything Fastify's own routes do not match goes to Portico, from a scope of its own whose one
// content-type parser reads nothing: the request body must reach Portico unread, whatever its type
// (Fastify would otherwise parse JSON and refuse types it has no parser for).
await app.register(async (scope) => {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
  scope.all('/*', (request, reply) => {
    reply.hijack();
    void portico.handle(request.raw, reply.raw);
  });
});
app.addHook('onClose', () => portico.close());

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 3003) });
console.log(`listening on ${address}`);
