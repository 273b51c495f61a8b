import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

describe('URL rewrite and the request timeout', () => {
  let backend: Backend;
  let proxy: TestProxy;

  before(async () => {
    backend = await startBackend('web', (req, res) => {
      if (req.url!.startsWith('/slow')) {
        setTimeout(() => res.end('late'), 2_000);
        return;
      }
      if (req.url!.startsWith('/drip')) {
        res.writeHead(200);
        res.write('first ');
        setTimeout(() => res.end('too late'), 2_000);
        return;
      }
      res.end(JSON.stringify({ url: req.url, host: req.headers.host }));
    });
    proxy = await startProxy({
      routes: [
        {
          host: 'full.example',
          paths: [{ path: '/old', service: 'web' }],
          rewrite: { fullPath: '/new/place' },
        },
        {
          host: 'prefix.example',
          paths: [{ path: '/api/v1', service: 'web' }],
          rewrite: { prefix: '/v2', host: 'internal.example:8080' },
        },
        { host: 'timed.example', paths: [{ path: '/', service: 'web' }], timeouts: { requestMs: 300 } },
      ],
      services: [{ name: 'web', endpoints: endpointsOf(backend) }],
    });
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  const get = async (host: string, path: string) => {
    const res = await request(`${proxy.url}${path}`, { headers: { host } });
    return { status: res.statusCode, body: await res.body.text() };
  };

  it('fullPath replaces the whole path and keeps the query', async () => {
    assert.deepEqual(JSON.parse((await get('full.example', '/old/x/y?q=1')).body), {
      url: '/new/place?q=1',
      host: 'full.example',
    });
  });

  it('prefix replaces the matched prefix, and host replaces the Host sent upstream', async () => {
    assert.deepEqual(JSON.parse((await get('prefix.example', '/api/v1/users?id=3')).body), {
      url: '/v2/users?id=3',
      host: 'internal.example:8080',
    });
    assert.equal(JSON.parse((await get('prefix.example', '/api/v1')).body).url, '/v2');
  });

  it('requestMs answers 504 when no response started in time, well before the backend answers', async () => {
    const started = Date.now();
    const res = await get('timed.example', '/slow');
    assert.equal(res.status, 504);
    assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
  });

  it('requestMs cuts a response that started but did not finish in time', async () => {
    const res = await request(`${proxy.url}/drip`, { headers: { host: 'timed.example' } });
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text(), 'the client sees the response cut short, not a clean end');
  });

  it('a fast exchange is not affected', async () => {
    assert.equal((await get('timed.example', '/quick')).status, 200);
  });
});
