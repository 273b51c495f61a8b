import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

describe('listener hostnames and routes kept to some listeners', () => {
  let app: Backend;
  let admin: Backend;
  let proxy: TestProxy;
  let ports: Map<string, number>;

  before(async () => {
    app = await startBackend('app', (_req, res) => res.end('app'));
    admin = await startBackend('admin', (_req, res) => res.end('admin'));
    proxy = await startProxy({
      listeners: [
        { name: 'public', address: '127.0.0.1', port: 0, hostnames: ['*.example.com', 'exact.test'] },
        { name: 'internal', address: '127.0.0.1', port: 0 },
      ],
      routes: [
        { paths: [{ path: '/', service: 'app' }] },
        { listeners: ['internal'], paths: [{ path: '/admin', service: 'admin' }] },
      ],
      services: [
        { name: 'app', endpoints: endpointsOf(app) },
        { name: 'admin', endpoints: endpointsOf(admin) },
      ],
    });
    ports = new Map(proxy.proxy.listeners().map((l) => [l.name, l.port]));
  });
  after(async () => {
    await proxy.close();
    await Promise.all([app.close(), admin.close()]);
  });

  async function get(listener: string, host: string, path: string): Promise<[number, string]> {
    const res = await request(`http://127.0.0.1:${ports.get(listener)}${path}`, { headers: { host } });
    return [res.statusCode, await res.body.text()];
  }

  it('a listener with hostnames serves those hosts only (a wildcard covers every name under it)', async () => {
    assert.deepEqual(await get('public', 'shop.example.com', '/'), [200, 'app']);
    assert.deepEqual(await get('public', 'a.b.example.com:8080', '/'), [200, 'app']);
    assert.deepEqual(await get('public', 'EXACT.test', '/'), [200, 'app']);
    assert.equal(
      (await get('public', 'example.com', '/'))[0],
      404,
      'the wildcard does not cover the name itself',
    );
    assert.equal((await get('public', 'evil.test', '/'))[0], 404);
    assert.deepEqual(
      await get('internal', 'evil.test', '/'),
      [200, 'app'],
      'a listener without hostnames serves all',
    );
  });

  it('a route kept to a listener serves there only; elsewhere the next rule does', async () => {
    assert.deepEqual(await get('internal', 'any.example.com', '/admin'), [200, 'admin']);
    assert.deepEqual(await get('public', 'any.example.com', '/admin'), [200, 'app']);
  });
});
