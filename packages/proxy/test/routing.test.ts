import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

async function get(url: string, host: string, path: string) {
  const res = await request(`${url}${path}`, { headers: { host } });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    json: String(res.headers['content-type']).includes('json') ? JSON.parse(text) : undefined,
    text,
  };
}

describe('routing through the proxy', () => {
  let web1: Backend;
  let web2: Backend;
  let api: Backend;
  let proxy: TestProxy;

  before(async () => {
    [web1, web2, api] = await Promise.all([
      startBackend('web-1'),
      startBackend('web-2'),
      startBackend('api'),
    ]);
    proxy = await startProxy({
      routes: [
        {
          host: 'shop.example',
          paths: [
            { path: '/api', type: 'Prefix', service: 'api' },
            { path: '/', type: 'Prefix', service: 'web' },
          ],
        },
        { host: '*.apps.example', paths: [{ path: '/status', type: 'Exact', service: 'api' }] },
      ],
      services: [
        { name: 'web', endpoints: endpointsOf(web1, web2) },
        { name: 'api', endpoints: endpointsOf(api) },
      ],
    });
  });
  after(async () => {
    await proxy.close();
    await Promise.all([web1.close(), web2.close(), api.close()]);
  });

  it('sends each request to the backend its host and path select', async () => {
    assert.equal((await get(proxy.url, 'shop.example', '/api/users?page=2')).json.backend, 'api');
    assert.equal((await get(proxy.url, 'shop.example', '/api')).json.backend, 'api');
    assert.match((await get(proxy.url, 'shop.example', '/apiary')).json.backend, /^web-/);
    assert.equal((await get(proxy.url, 'one.apps.example', '/status')).json.backend, 'api');
  });

  it('passes method, target and end-to-end headers unchanged and sets X-Forwarded-*', async () => {
    const res = await request(`${proxy.url}/api/x?a=1&b=%20`, {
      method: 'DELETE',
      headers: {
        host: 'Shop.Example:8080',
        'x-custom': 'kept',
        'x-forwarded-for': '6.6.6.6',
        proxy: 'http://evil',
      },
    });
    const seen = JSON.parse(await res.body.text());
    assert.equal(seen.method, 'DELETE');
    assert.equal(seen.url, '/api/x?a=1&b=%20');
    assert.equal(seen.headers.host, 'Shop.Example:8080');
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-host'], 'Shop.Example:8080');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers.proxy, undefined);
  });

  it('spreads requests over a service by round robin', async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const { json } = await get(proxy.url, 'shop.example', '/');
      counts.set(json.backend, (counts.get(json.backend) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { 'web-1': 10, 'web-2': 10 });
  });

  it('answers 404 when no route matches, without forwarding', async () => {
    const before = web1.requests + web2.requests + api.requests;
    const miss = await get(proxy.url, 'unknown.example', '/');
    assert.equal(miss.status, 404);
    assert.equal(miss.text, '404 Not Found\n');
    assert.equal((await get(proxy.url, 'a.b.apps.example', '/status')).status, 404);
    assert.equal((await get(proxy.url, 'one.apps.example', '/status/')).status, 404);
    assert.equal(web1.requests + web2.requests + api.requests, before);
  });
});

describe('upstream failures', () => {
  it('answers 502 when no endpoint accepts a connection, and 503 when a service has none', async () => {
    const dead = await startBackend('dead');
    const deadPort = dead.port;
    await dead.close();
    const proxy = await startProxy({
      routes: [
        { host: 'dead.example', paths: [{ path: '/', service: 'dead' }] },
        { host: 'empty.example', paths: [{ path: '/', service: 'empty' }] },
      ],
      services: [
        { name: 'dead', endpoints: [{ address: '127.0.0.1', port: deadPort }] },
        { name: 'empty', endpoints: [] },
      ],
    });
    try {
      assert.equal((await get(proxy.url, 'dead.example', '/')).status, 502);
      assert.equal((await get(proxy.url, 'empty.example', '/')).status, 503);
    } finally {
      await proxy.close();
    }
  });

  it('skips an endpoint that refuses connections and serves from the next one', async () => {
    const alive = await startBackend('alive');
    const dead = await startBackend('dead');
    const deadPort = dead.port;
    await dead.close();
    const proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 'mixed' }] }],
      services: [
        { name: 'mixed', endpoints: [{ address: '127.0.0.1', port: deadPort }, ...endpointsOf(alive)] },
      ],
    });
    try {
      for (let i = 0; i < 6; i++) {
        const res = await get(proxy.url, 'any.example', '/');
        assert.equal(res.status, 200);
        assert.equal(res.json.backend, 'alive');
      }
    } finally {
      await proxy.close();
      await alive.close();
    }
  });

  it('retries once on a fresh connection when a pooled one dies before answering', async () => {
    // Each connection answers its first request and drops the second unanswered, as a backend that
    // closed an idle keep-alive connection at the moment Portico reused it.
    const server = createServer((socket) => {
      let requests = 0;
      socket.on('data', (chunk: Buffer) => {
        if (!chunk.includes('\r\n\r\n')) return;
        if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        else socket.destroy();
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 's' }] }],
      services: [{ name: 's', endpoints: [{ address: '127.0.0.1', port }] }],
    });
    try {
      for (let i = 0; i < 4; i++) {
        const res = await get(proxy.url, 'x.example', '/');
        assert.equal(res.status, 200, `request ${i}`);
        assert.equal(res.text, 'ok');
      }
      assert.ok(proxy.proxy.pool.reused >= 3, 'pooled connections were tried');
    } finally {
      await proxy.close();
      server.close();
    }
  });
});
