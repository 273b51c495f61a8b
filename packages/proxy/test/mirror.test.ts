import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

interface Copy {
  method: string;
  url: string;
  host: string | undefined;
  body: string;
}

describe('request mirroring (routes[].mirror)', () => {
  let primary: Backend;
  let shadow: Backend;
  let proxy: TestProxy;
  const copies: Copy[] = [];

  before(async () => {
    primary = await startBackend('primary', (req, res) => {
      req.resume();
      req.on('end', () => res.end('primary'));
    });
    // The mirror is slow: the client must not wait for it.
    shadow = await startBackend('shadow', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        copies.push({
          method: req.method!,
          url: req.url!,
          host: req.headers.host,
          body: Buffer.concat(chunks).toString(),
        });
        setTimeout(() => res.end('shadow'), 1_500);
      });
    });
    proxy = await startProxy({
      routes: [
        {
          host: 'app.example',
          paths: [{ path: '/api', service: 'primary' }],
          rewriteTarget: '/v1',
          mirror: { service: 'shadow' },
        },
        {
          host: 'none.example',
          paths: [{ path: '/', service: 'primary' }],
          mirror: { service: 'shadow', percent: 0 },
        },
      ],
      services: [
        { name: 'primary', endpoints: endpointsOf(primary) },
        { name: 'shadow', endpoints: endpointsOf(shadow) },
      ],
    });
  });
  after(async () => {
    await proxy.close();
    await Promise.all([primary.close(), shadow.close()]);
  });

  async function waitForCopies(n: number): Promise<void> {
    for (let i = 0; i < 100 && copies.length < n; i++) await new Promise((r) => setTimeout(r, 20));
  }

  it('the mirror gets a copy of the request as sent upstream, and the client never waits for it', async () => {
    const started = Date.now();
    const get = await request(`${proxy.url}/api/items?x=1`, { headers: { host: 'app.example' } });
    assert.equal(await get.body.text(), 'primary');
    const post = await request(`${proxy.url}/api/orders`, {
      method: 'POST',
      headers: { host: 'app.example', 'content-type': 'application/json' },
      body: '{"item":7}',
    });
    assert.equal(await post.body.text(), 'primary');
    assert.ok(
      Date.now() - started < 1_000,
      `answered in ${Date.now() - started} ms, not held by the 1.5 s mirror`,
    );
    await waitForCopies(2);
    assert.deepEqual(copies.slice(0, 2), [
      { method: 'GET', url: '/v1/items?x=1', host: 'app.example', body: '' },
      { method: 'POST', url: '/v1/orders', host: 'app.example', body: '{"item":7}' },
    ]);
  });

  it('percent 0 copies nothing', async () => {
    const before = copies.length;
    for (let i = 0; i < 5; i++)
      await (await request(`${proxy.url}/`, { headers: { host: 'none.example' } })).body.dump();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(copies.length, before);
  });
});
