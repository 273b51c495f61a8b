import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

describe('custom error pages: Portico’s errors and upstream ones, the status kept', () => {
  let app: Backend;
  let renderer: Backend;
  let proxy: TestProxy;
  let dir: string;
  const rendered: IncomingHttpHeaders[] = [];
  const agent = new Agent({ connections: 1 });

  const get = async (host: string, path = '/', headers: Record<string, string> = {}) => {
    const res = await request(`${proxy.url}${path}`, { dispatcher: agent, headers: { host, ...headers } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-pages-'));
    await writeFile(join(dir, '5xx.html'), '<h1>We are on it</h1>');
    app = await startBackend('app', (req, res) => {
      const status = Number.parseInt(req.url!.slice(1), 10) || 200;
      res.statusCode = status;
      res.setHeader('x-upstream', 'yes');
      res.end(`upstream body ${status}`);
    });
    renderer = await startBackend('renderer', (req, res) => {
      rendered.push(req.headers);
      if (req.headers['x-code'] === '418') {
        res.statusCode = 500; // a renderer that fails: the plain answer goes out
        return res.end();
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ code: Number(req.headers['x-code']) }));
    });
    proxy = await startProxy({
      errorPages: [{ statuses: [404], body: 'nothing here\n', contentType: 'text/plain' }],
      routes: [
        {
          host: 'www.example',
          errorPages: [
            { statuses: [500, 502, 503], file: join(dir, '5xx.html') },
            { statuses: [403, 418], url: `http://127.0.0.1:${renderer.port}/render` },
          ],
          paths: [{ path: '/', service: 'app' }],
        },
        { host: 'plain.example', paths: [{ path: '/', service: 'app' }] },
        {
          host: 'svc.example',
          errorPages: [{ statuses: [502], service: 'renderer' }],
          paths: [{ path: '/', service: 'app' }],
        },
        {
          host: 'empty.example',
          errorPages: [{ statuses: [503], body: 'no one home' }],
          paths: [{ path: '/', service: 'none' }],
        },
      ],
      services: [
        { name: 'app', endpoints: endpointsOf(app) },
        { name: 'none', endpoints: [] },
        { name: 'renderer', endpoints: endpointsOf(renderer) },
      ],
    });
  });
  after(async () => {
    await agent.close();
    await proxy.close();
    await app.close();
    await renderer.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces an upstream error body with the page, keeping the status and dropping its headers', async () => {
    const res = await get('www.example', '/502');
    assert.equal(res.status, 502);
    assert.equal(res.body, '<h1>We are on it</h1>');
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['x-upstream'], undefined);
    const ok = await get('www.example', '/200');
    assert.equal(ok.body, 'upstream body 200', 'other statuses pass as they are');
    const unlisted = await get('www.example', '/504');
    assert.equal(unlisted.body, 'upstream body 504');
    assert.equal((await get('plain.example', '/502')).body, 'upstream body 502', 'only where configured');
  });

  it('answers Portico’s own errors with the page too: 404 without a route, 503 without endpoints', async () => {
    const missing = await get('nowhere.example');
    assert.equal(missing.status, 404);
    assert.equal(missing.body, 'nothing here\n');
    assert.equal(missing.headers['content-type'], 'text/plain');
    const empty = await get('empty.example');
    assert.equal(empty.status, 503);
    assert.equal(empty.body, 'no one home');
  });

  it('asks a renderer with ingress-nginx’s headers and sends its page with the original status', async () => {
    rendered.length = 0;
    const res = await get('www.example', '/403?x=1', { accept: 'application/json' });
    assert.equal(res.status, 403);
    assert.deepEqual(JSON.parse(res.body), { code: 403 });
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(rendered[0]!['x-code'], '403');
    assert.equal(rendered[0]!['x-format'], 'application/json');
    assert.equal(rendered[0]!['x-original-uri'], '/403?x=1');
    const failed = await get('www.example', '/418');
    assert.equal(failed.status, 418);
    assert.equal(failed.body, "418 I'm a Teapot\n", 'a failed renderer: the plain answer');
  });

  it('asks a renderer that is a service of the config at one of its endpoints', async () => {
    rendered.length = 0;
    const res = await get('svc.example', '/502');
    assert.equal(res.status, 502);
    assert.deepEqual(JSON.parse(res.body), { code: 502 });
    assert.equal(rendered[0]!['x-original-uri'], '/502');
  });

  it('keeps the client connection and the proxy healthy across many error pages', async () => {
    for (let i = 0; i < 50; i++)
      assert.equal((await get('www.example', i % 2 === 0 ? '/500' : '/200')).status, i % 2 === 0 ? 500 : 200);
  });
});
