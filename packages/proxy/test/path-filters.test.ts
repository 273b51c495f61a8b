import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

interface Seen {
  backend: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

describe("a path's own ordered filters (paths[].filters)", () => {
  let app: Backend;
  let shadowA: Backend;
  let shadowB: Backend;
  let proxy: TestProxy;
  const seen: Seen[] = [];
  const recorder =
    (name: string) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      req.resume();
      req.on('end', () => {
        seen.push({ backend: name, url: req.url!, headers: req.headers });
        res.setHeader('x-from', name);
        res.end(name);
      });
    };

  before(async () => {
    app = await startBackend('app', recorder('app'));
    shadowA = await startBackend('shadow-a', recorder('shadow-a'));
    shadowB = await startBackend('shadow-b', recorder('shadow-b'));
    proxy = await startProxy({
      routes: [
        {
          host: 'shop.example',
          requestHeaders: { set: { 'x-tier': 'route', 'x-route': 'shop' } },
          paths: [
            {
              path: '/api',
              service: 'app',
              filters: [
                { requestHeaders: { set: { 'x-tier': 'path' }, remove: ['x-drop'] } },
                { rewrite: { prefix: '/v2' } },
                { responseHeaders: { add: { 'x-path': 'api' } } },
                { mirror: { service: 'shadow-a' } },
                { mirror: { service: 'shadow-b' } },
              ],
            },
            {
              path: '/old',
              filters: [{ redirect: { path: '/new', status: 302 } }],
            },
            { path: '/', service: 'app' },
          ],
        },
      ],
      services: [
        { name: 'app', endpoints: endpointsOf(app) },
        { name: 'shadow-a', endpoints: endpointsOf(shadowA) },
        { name: 'shadow-b', endpoints: endpointsOf(shadowB) },
      ],
    });
  });
  after(async () => {
    await proxy.close();
    await Promise.all([app.close(), shadowA.close(), shadowB.close()]);
  });

  async function waitFor(predicate: () => boolean): Promise<void> {
    for (let i = 0; i < 100 && !predicate(); i++) await new Promise((r) => setTimeout(r, 20));
  }

  it("runs the path's filters after its route's, in order, on that path only", async () => {
    seen.length = 0;
    const res = await request(`${proxy.url}/api/items?q=1`, {
      headers: { host: 'shop.example', 'x-drop': 'secret' },
    });
    assert.equal(await res.body.text(), 'app');
    assert.equal(res.headers['x-path'], 'api');
    const upstream = seen.find((s) => s.backend === 'app')!;
    assert.equal(upstream.url, '/v2/items?q=1', 'the prefix rewrite of the path');
    assert.equal(upstream.headers['x-tier'], 'path', "the path's rule runs after the route's");
    assert.equal(upstream.headers['x-route'], 'shop', "the route's rules still apply");
    assert.equal(upstream.headers['x-drop'], undefined);

    seen.length = 0;
    const other = await request(`${proxy.url}/cart`, { headers: { host: 'shop.example', 'x-drop': 'kept' } });
    assert.equal(await other.body.text(), 'app');
    assert.equal(other.headers['x-path'], undefined, 'a sibling path has none of them');
    const plain = seen.find((s) => s.backend === 'app')!;
    assert.equal(plain.url, '/cart');
    assert.equal(plain.headers['x-tier'], 'route');
    assert.equal(plain.headers['x-drop'], 'kept');
  });

  it('sends a copy to every mirror the path lists', async () => {
    seen.length = 0;
    const res = await request(`${proxy.url}/api/orders`, { headers: { host: 'shop.example' } });
    await res.body.dump();
    await waitFor(() => seen.filter((s) => s.backend.startsWith('shadow')).length >= 2);
    const copies = seen.filter((s) => s.backend.startsWith('shadow')).map((s) => `${s.backend} ${s.url}`);
    assert.deepEqual(copies.sort(), ['shadow-a /v2/orders', 'shadow-b /v2/orders']);
  });

  it('a path with a redirect filter needs no service, and answers without going upstream', async () => {
    seen.length = 0;
    const res = await request(`${proxy.url}/old/page?x=1`, { headers: { host: 'shop.example' } });
    await res.body.dump();
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, 'http://shop.example/new?x=1');
    assert.equal(seen.length, 0);
  });
});
