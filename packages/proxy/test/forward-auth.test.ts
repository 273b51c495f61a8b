import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

/**
 * Forward auth against a real auth service: it decides by the request's Authorization header and
 * records what it was asked, so the tests see both what the client got and what the service saw.
 */
describe('forward auth: an auth service decides before anything goes upstream', () => {
  let auth: Backend;
  let app: Backend;
  let proxy: TestProxy;
  const asked: IncomingHttpHeaders[] = [];
  const seenUpstream: IncomingHttpHeaders[] = [];
  const agent = new Agent({ connections: 1 });

  const get = async (host: string, headers: Record<string, string> = {}, path = '/') => {
    const res = await request(`${proxy.url}${path}`, { dispatcher: agent, headers: { host, ...headers } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  before(async () => {
    auth = await startBackend('auth', (req, res) => {
      asked.push(req.headers);
      const token = req.headers.authorization;
      if (token === 'Bearer good') {
        res.setHeader('x-user', 'alice');
        res.setHeader('x-other', 'not copied');
        return res.end();
      }
      if (token === 'Bearer slow') return setTimeout(() => res.end(), 1_500);
      if (token === 'Bearer broken') {
        res.statusCode = 502;
        return res.end('upstream of auth failed');
      }
      if (token === 'Bearer moved') {
        res.statusCode = 302;
        res.setHeader('location', 'https://login.example/start');
        return res.end();
      }
      if (token === 'Bearer banned') {
        res.statusCode = 403;
        return res.end('you are banned');
      }
      res.statusCode = 401;
      res.setHeader('www-authenticate', 'Bearer realm="api"');
      res.setHeader('content-type', 'text/plain');
      res.end('log in first');
    });
    app = await startBackend('app', (req, res) => {
      seenUpstream.push(req.headers);
      let size = 0;
      req.on('data', (d: Buffer) => {
        size += d.length;
      });
      req.on('end', () => res.end(`app ${req.method} ${size}`));
    });
    const url = `http://127.0.0.1:${auth.port}/verify`;
    proxy = await startProxy({
      listeners: [
        { name: 'web', address: '127.0.0.1', port: 0 },
        { name: 'h2c', address: '127.0.0.1', port: 0, h2c: true },
      ],
      routes: [
        {
          host: 'api.example',
          forwardAuth: { url, responseHeaders: ['X-User'], timeoutMs: 500 },
          paths: [{ path: '/', service: 'app' }],
        },
        {
          host: 'web.example',
          forwardAuth: { url, signInUrl: 'https://login.example/sign-in', requestHeaders: ['Authorization'] },
          paths: [{ path: '/', service: 'app' }],
        },
        {
          host: 'cached.example',
          forwardAuth: { url, cache: { ttlMs: 60_000, keyHeaders: ['Authorization'] } },
          paths: [{ path: '/', service: 'app' }],
        },
        {
          host: 'down.example',
          forwardAuth: { url: 'http://127.0.0.1:1/verify' },
          paths: [{ path: '/', service: 'app' }],
        },
      ],
      services: [{ name: 'app', endpoints: endpointsOf(app) }],
    });
  });
  after(async () => {
    await agent.close();
    await proxy.close();
    await auth.close();
    await app.close();
  });

  it('a 2xx lets the request through with the chosen answer headers; the client cannot forge them', async () => {
    asked.length = 0;
    seenUpstream.length = 0;
    const res = await get(
      'api.example',
      { authorization: 'Bearer good', 'x-user': 'mallory', cookie: 'a=1' },
      '/items?q=1',
    );
    assert.equal(res.status, 200);
    assert.equal(res.body, 'app GET 0');
    assert.equal(
      seenUpstream[0]!['x-user'],
      'alice',
      'the auth service says who the user is, not the client',
    );
    assert.equal(seenUpstream[0]!['x-other'], undefined, 'only listed headers are copied');
    const sent = asked[0]!;
    assert.equal(sent.authorization, 'Bearer good');
    assert.equal(sent.cookie, 'a=1');
    assert.equal(sent['x-original-url'], 'http://api.example/items?q=1');
    assert.equal(sent['x-original-method'], 'GET');
    assert.equal(sent['x-forwarded-uri'], '/items?q=1');
    assert.equal(sent['x-forwarded-host'], 'api.example');
    assert.equal(sent['x-forwarded-proto'], 'http');
    assert.equal(sent['x-forwarded-for'], '127.0.0.1');

    // A refused client's forged identity goes nowhere either; without an answer header it is dropped.
    const forged = await get('api.example', { 'x-user': 'mallory' });
    assert.equal(forged.status, 401);
  });

  it('401 and 403 go back with the service’s challenge and body; a 3xx as it is', async () => {
    const unauthorized = await get('api.example');
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.headers['www-authenticate'], 'Bearer realm="api"');
    assert.equal(unauthorized.body, 'log in first');
    const banned = await get('api.example', { authorization: 'Bearer banned' });
    assert.equal(banned.status, 403);
    assert.equal(banned.body, 'you are banned');
    const moved = await get('api.example', { authorization: 'Bearer moved' });
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, 'https://login.example/start');
    assert.equal(proxy.proxy.counters.unauthorized >= 2, true, '401 and 403 are counted');
  });

  it('with signInUrl a 401 sends the browser there, with rd set; only listed headers reach the service', async () => {
    asked.length = 0;
    const res = await get('web.example', { cookie: 'session=x' }, '/account');
    assert.equal(res.status, 302);
    const location = new URL(String(res.headers.location));
    assert.equal(location.origin + location.pathname, 'https://login.example/sign-in');
    assert.equal(location.searchParams.get('rd'), 'http://web.example/account');
    assert.equal(asked[0]!.cookie, undefined, 'requestHeaders: [Authorization] only');
  });

  it('an auth service that fails, is slow or is down fails the request closed (500)', async () => {
    assert.equal((await get('api.example', { authorization: 'Bearer broken' })).status, 500);
    const started = Date.now();
    assert.equal((await get('api.example', { authorization: 'Bearer slow' })).status, 500);
    assert.ok(Date.now() - started < 1_400, 'timeoutMs (500) ends the wait');
    assert.equal((await get('down.example')).status, 500);
    // The proxy serves on.
    assert.equal((await get('api.example', { authorization: 'Bearer good' })).status, 200);
  });

  it('a request body waits for the answer, then goes upstream whole; a refused one is never read', async () => {
    const body = 'x'.repeat(100_000);
    const res = await request(`${proxy.url}/upload`, {
      method: 'POST',
      headers: { host: 'api.example', authorization: 'Bearer good' },
      body,
    });
    assert.equal(await res.body.text(), 'app POST 100000');
    const before = app.requests;
    const refused = await request(`${proxy.url}/upload`, {
      method: 'POST',
      headers: { host: 'api.example' },
      body,
    });
    await refused.body.text();
    assert.equal(refused.statusCode, 401);
    assert.equal(app.requests, before, 'nothing reached the upstream');
  });

  it('caches answers by the key headers', async () => {
    asked.length = 0;
    for (let i = 0; i < 3; i++)
      assert.equal((await get('cached.example', { authorization: 'Bearer good' })).status, 200);
    for (let i = 0; i < 3; i++)
      assert.equal((await get('cached.example', { authorization: 'nope' })).status, 401);
    assert.equal(asked.length, 2, 'one question per key');
  });

  it('works the same for HTTP/2 clients: allowed with the copied header, refused with the challenge', async () => {
    const port = proxy.proxy.listeners().find((l) => l.name === 'h2c')!.port;
    const session = h2connect(`http://127.0.0.1:${port}`);
    const ask = (authorization?: string) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const stream = session.request({
          ':path': '/',
          ':authority': 'api.example',
          ...(authorization === undefined ? {} : { authorization }),
        });
        let headers: Record<string, unknown> = {};
        let body = '';
        stream.on('response', (h) => {
          headers = h;
        });
        stream.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
        stream.on('error', reject);
      });
    try {
      seenUpstream.length = 0;
      const allowed = await ask('Bearer good');
      assert.equal(allowed.status, 200);
      assert.equal(seenUpstream[0]!['x-user'], 'alice');
      const refused = await ask();
      assert.equal(refused.status, 401);
      assert.equal(refused.headers['www-authenticate'], 'Bearer realm="api"');
      assert.equal(refused.body, 'log in first');
    } finally {
      session.close();
    }
  });

  it('a client that leaves while the service thinks costs nothing upstream', async () => {
    const before = app.requests;
    await new Promise<void>((resolve) => {
      const socket = connect(proxy.port, '127.0.0.1', () => {
        socket.write('GET / HTTP/1.1\r\nhost: api.example\r\nauthorization: Bearer slow\r\n\r\n');
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(app.requests, before);
    assert.equal((await get('api.example', { authorization: 'Bearer good' })).status, 200);
  });
});
