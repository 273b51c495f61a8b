import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { RawClient } from './helpers/raw-client.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

describe('route policies', () => {
  let echo: Backend;
  let proxy: TestProxy;
  let completed = 0;

  before(async () => {
    echo = await startBackend('echo', (req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      req.on('end', () => {
        completed++;
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-internal', 'secret');
        res.setHeader('server', 'backend/1.0');
        res.end(JSON.stringify({ url: req.url, bytes, headers: req.headers }));
      });
    });
    const svc = [{ name: 'echo', endpoints: endpointsOf(echo) }];
    proxy = await startProxy({
      routes: [
        { host: 'strip.example', paths: [{ path: '/api', service: 'echo' }], rewriteTarget: '/' },
        { host: 'swap.example', paths: [{ path: '/old', service: 'echo' }], rewriteTarget: '/new/' },
        {
          host: 'regex.example',
          paths: [{ path: '/u/([0-9]+)/p', type: 'ImplementationSpecific', regex: true, service: 'echo' }],
          rewriteTarget: '/users/$1/profile',
        },
        { host: 'go.example', paths: [{ path: '/', service: 'echo' }], redirect: { scheme: 'https' } },
        {
          host: 'moved.example',
          paths: [{ path: '/', service: 'echo' }],
          redirect: { host: 'new.example', path: '/landing', status: 302 },
        },
        {
          host: 'headers.example',
          paths: [{ path: '/', service: 'echo' }],
          requestHeaders: { set: { 'x-env': 'prod' }, add: { 'x-extra': 'yes' }, remove: ['x-drop-me'] },
          responseHeaders: {
            remove: ['x-internal'],
            set: { server: 'portico' },
            add: { 'strict-transport-security': 'max-age=600' },
          },
        },
        { host: 'small.example', paths: [{ path: '/', service: 'echo' }], maxBodyBytes: 10 },
      ],
      services: svc,
    });
  });
  after(async () => {
    await proxy.close();
    await echo.close();
  });

  async function get(
    host: string,
    path: string,
    init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {},
  ) {
    const res = await request(`${proxy.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { host, ...init.headers },
      body: init.body ?? null,
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
  }

  it('rewriteTarget replaces the matched prefix and keeps the rest and the query', async () => {
    assert.equal((await get('strip.example', '/api/users/7?x=1')).json().url, '/users/7?x=1');
    assert.equal((await get('strip.example', '/api')).json().url, '/');
    assert.equal((await get('swap.example', '/old/a/b')).json().url, '/new/a/b');
  });

  it('rewriteTarget on a regex rule can use its groups', async () => {
    assert.equal((await get('regex.example', '/u/42/p?v=2')).json().url, '/users/42/profile?v=2');
  });

  it('redirects: scheme change drops the port; 301 for GET, 308 for POST; query kept', async () => {
    const res = await get('go.example:8080', '/a/b?q=1');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, 'https://go.example/a/b?q=1');
    const post = await get('go.example', '/form', { method: 'POST', body: 'x=1' });
    assert.equal(post.status, 308);
    const moved = await get('moved.example', '/anything?k=v');
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, 'http://new.example/landing?k=v');
  });

  it('redirects never reach the backend', async () => {
    const before = echo.requests;
    await get('go.example', '/x');
    await get('moved.example', '/y');
    assert.equal(echo.requests, before);
  });

  it('request header rules: remove, then set (replacing the client value), then add', async () => {
    const seen = (
      await get('headers.example', '/', { headers: { 'x-drop-me': '1', 'X-Env': 'dev', 'x-kept': 'k' } })
    ).json();
    assert.equal(seen.headers['x-drop-me'], undefined);
    assert.equal(seen.headers['x-env'], 'prod');
    assert.equal(seen.headers['x-extra'], 'yes');
    assert.equal(seen.headers['x-kept'], 'k');
  });

  it('response header rules change what the client sees', async () => {
    const res = await get('headers.example', '/');
    assert.equal(res.headers['x-internal'], undefined);
    assert.equal(res.headers.server, 'portico');
    assert.equal(res.headers['strict-transport-security'], 'max-age=600');
  });

  it('maxBodyBytes: 413 from Content-Length before anything is sent, and while streaming chunked', async () => {
    const before = completed;
    const started = echo.requests;
    assert.equal((await get('small.example', '/', { method: 'POST', body: 'x'.repeat(11) })).status, 413);
    assert.equal(echo.requests, started, 'a Content-Length over the limit is refused before connecting');
    assert.equal((await get('small.example', '/', { method: 'POST', body: 'x'.repeat(10) })).status, 200);
    const client = await RawClient.open(proxy.port);
    client.write(
      'POST / HTTP/1.1\r\nHost: small.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.write('8\r\n world!!\r\n0\r\n\r\n');
    const text = await client.waitForClose();
    assert.match(text, /^HTTP\/1\.1 413 /);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(completed, before + 1, 'only the 10-byte request reached the backend complete');
  });
});

describe('forwarding fields', () => {
  let echo: Backend;
  before(async () => {
    echo = await startBackend('fwd');
  });
  after(async () => echo.close());

  async function seen(input: Record<string, unknown>, headers: Record<string, string>) {
    const proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 's' }] }],
      services: [{ name: 's', endpoints: endpointsOf(echo) }],
      ...input,
    });
    try {
      const res = await request(`${proxy.url}/`, { headers: { host: 'f.example', ...headers } });
      return { seen: JSON.parse(await res.body.text()).headers, res, port: proxy.port };
    } finally {
      await proxy.close();
    }
  }

  it('drops what an untrusted client claims and says what Portico saw', async () => {
    const { seen: h, port } = await seen(
      {},
      {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-real-ip': '6.6.6.6',
        forwarded: 'for=6.6.6.6',
      },
    );
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'f.example');
    assert.equal(h['x-forwarded-port'], String(port));
    assert.equal(h.forwarded, undefined);
  });

  it('extends the chain of a trusted proxy, and X-Real-IP is the first untrusted hop from the right', async () => {
    const { seen: h } = await seen(
      { forwarding: { trustedProxies: ['127.0.0.0/8', '10.0.0.0/8'] } },
      { 'x-forwarded-for': '203.0.113.9, 10.1.2.3', 'x-forwarded-proto': 'https' },
    );
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 10.1.2.3, 127.0.0.1');
    assert.equal(h['x-real-ip'], '203.0.113.9');
    assert.equal(h['x-forwarded-proto'], 'https');
  });

  it('adds RFC 7239 Forwarded and Via when asked', async () => {
    const { seen: h, res } = await seen({ forwarding: { forwardedHeader: true, viaHeader: true } }, {});
    assert.equal(h.forwarded, 'for=127.0.0.1;proto=http;host=f.example');
    assert.equal(h.via, '1.1 portico');
    assert.equal(res.headers.via, '1.1 portico');
  });

  it('refuses a config with an invalid CIDR', async () => {
    await assert.rejects(
      seen({ forwarding: { trustedProxies: ['10.0.0.0/40'] } }, {}),
      /forwarding\.trustedProxies\[0\]: "10\.0\.0\.0\/40" is not an IPv4 or IPv6 address or CIDR/,
    );
  });
});

describe('request outcomes', () => {
  it('generates a distinct version 8 UUID as x-request-id for each request that has none', async () => {
    const echo = await startBackend('ids');
    const proxy = await startProxy({
      routes: [{ name: 'main', paths: [{ path: '/', service: 's' }] }],
      services: [{ name: 's', endpoints: endpointsOf(echo) }],
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await request(`${proxy.url}/`, { headers: { host: 'o.example' } });
        ids.push(JSON.parse(await res.body.text()).headers['x-request-id']);
      }
      for (const id of ids) {
        assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, id);
      }
      assert.equal(new Set(ids).size, ids.length, 'no id repeats');
    } finally {
      await proxy.close();
      await echo.close();
    }
  });

  it('publish one outcome per request on portico:http:request, with the client address', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
    const echo = await startBackend('outcome');
    const proxy = await startProxy({
      routes: [{ name: 'main', paths: [{ path: '/', service: 's' }] }],
      services: [{ name: 's', endpoints: endpointsOf(echo) }],
    });
    const seen: Record<string, unknown>[] = [];
    const listener = (message: unknown) => seen.push(message as Record<string, unknown>);
    subscribe('portico:http:request', listener);
    try {
      const res = await request(`${proxy.url}/x?y=1`, { headers: { host: 'o.example' } });
      const sentId = JSON.parse(await res.body.text()).headers['x-request-id'];
      const second = await request(`${proxy.url}/`, {
        headers: { host: 'o.example', 'x-forwarded-for': '9.9.9.9', 'x-request-id': 'from-client-42' },
      });
      const secondSeen = JSON.parse(await second.body.text()).headers['x-request-id'];
      assert.equal(secondSeen, 'from-client-42', "a client's id passes unchanged");
      assert.equal(seen.length, 2);
      assert.match(sentId, /^[0-9a-f-]{36}$/, 'an id is generated when the client sent none');
      assert.equal(seen[1]!['requestId'], 'from-client-42');
      const first = seen[0]!;
      assert.ok((first['connectMs'] as number) >= 0 && (first['ttfbMs'] as number) >= 0, 'upstream timings');
      assert.equal(first['requestBytes'], 0);
      assert.ok((first['responseBytes'] as number) > 100, 'response body bytes');
      assert.deepEqual(
        { ...first, durationMs: 0, connectMs: 0, ttfbMs: 0, responseBytes: 0 },
        {
          client: '127.0.0.1',
          requestId: sentId,
          method: 'GET',
          host: 'o.example',
          path: '/x',
          status: 200,
          route: 'main',
          service: 's',
          endpoint: `127.0.0.1:${echo.port}`,
          errorCode: undefined,
          phase: 'complete',
          durationMs: 0,
          connectMs: 0,
          ttfbMs: 0,
          requestBytes: 0,
          responseBytes: 0,
          query: 'y=1',
          protocol: 'HTTP/1.1',
          userAgent: undefined,
          referer: undefined,
          listener: 'test',
          trace: undefined,
          tls: undefined,
        },
      );
    } finally {
      unsubscribe('portico:http:request', listener);
      await proxy.close();
      await echo.close();
    }
  });
});
