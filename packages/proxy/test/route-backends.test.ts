import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

describe('weighted backends and redirect-only routes', () => {
  const backends: Record<string, Backend> = {};
  let proxy: TestProxy;

  before(async () => {
    for (const name of ['stable', 'canary', 'legacy', 'dark']) {
      backends[name] = await startBackend(name, (_req, res) => res.end(name));
    }
    proxy = await startProxy({
      routes: [
        {
          host: 'app.example',
          paths: [
            {
              path: '/',
              backends: [
                { service: 'stable', weight: 70 },
                { service: 'canary', weight: 20 },
                { service: 'legacy', weight: 10 },
                { service: 'dark', weight: 0 },
              ],
            },
          ],
          responseHeaders: { add: { 'x-split': 'yes' } },
        },
        { host: 'off.example', paths: [{ path: '/', backends: [{ service: 'dark', weight: 0 }] }] },
        { host: 'old.example', paths: [{ path: '/' }], redirect: { host: 'new.example', status: 302 } },
        {
          host: 'match.example',
          paths: [
            { path: '/', service: 'stable' },
            { path: '/', service: 'canary', headers: [{ name: 'X-Canary', value: 'always' }] },
            { path: '/', service: 'legacy', method: 'DELETE' },
            {
              path: '/',
              backends: [{ service: 'dark', weight: 1 }],
              queryParams: [{ name: 'v', value: '[0-9]+', type: 'RegularExpression' }],
            },
          ],
        },
      ],
      services: Object.entries(backends).map(([name, b]) => ({ name, endpoints: endpointsOf(b) })),
    });
  });
  after(async () => {
    await proxy.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  it('splits 10,000 requests by weight, each share within 5% of its weight, none to weight 0', async () => {
    const pool = new Pool(proxy.url, { connections: 20 });
    const counts: Record<string, number> = { stable: 0, canary: 0, legacy: 0, dark: 0 };
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        next++;
        const res = await pool.request({ path: '/x', method: 'GET', headers: { host: 'app.example' } });
        assert.equal(res.headers['x-split'], 'yes', 'the route filters run whichever backend serves');
        counts[await res.body.text()]!++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    await pool.close();
    assert.equal(counts['dark'], 0);
    for (const [name, weight] of [
      ['stable', 0.7],
      ['canary', 0.2],
      ['legacy', 0.1],
    ] as const) {
      const share = counts[name]! / 10_000;
      assert.ok(Math.abs(share - weight) <= weight * 0.05, `${name}: ${share} for a weight of ${weight}`);
    }
  });

  it('a path whose backends all weigh 0 answers 503 and reaches none', async () => {
    const before = backends['dark']!.requests;
    const res = await request(`${proxy.url}/`, { headers: { host: 'off.example' } });
    assert.equal(res.statusCode, 503);
    await res.body.dump();
    assert.equal(backends['dark']!.requests, before);
  });

  it('a redirect-only route needs no service and answers from its filter', async () => {
    const res = await request(`${proxy.url}/a/b?c=1`, { headers: { host: 'old.example' } });
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, 'http://new.example/a/b?c=1');
    await res.body.dump();
  });

  it('routes by header, method and query parameter on top of the path, most specific first', async () => {
    const served = async (method: string, path: string, headers: Record<string, string> = {}) => {
      const res = await request(`${proxy.url}${path}`, {
        method: method as 'GET',
        headers: { host: 'match.example', ...headers },
      });
      return res.body.text();
    };
    assert.equal(await served('GET', '/a'), 'stable');
    assert.equal(await served('GET', '/a', { 'x-canary': 'always' }), 'canary');
    assert.equal(await served('GET', '/a', { 'x-canary': 'never' }), 'stable');
    assert.equal(
      await served('DELETE', '/a', { 'x-canary': 'always' }),
      'legacy',
      'a method match beats a header match',
    );
    assert.equal(await served('GET', '/a?v=12'), 'dark');
    assert.equal(await served('GET', '/a?v=x12'), 'stable', 'the expression must match the whole value');
  });

  it('the admin view of each rule says where it sends requests and which filters it has', () => {
    const rules = proxy.proxy.snapshot.routes
      .rules()
      .map((r) => [r.host, r.target.destination, r.target.policy.filters.all.map((f) => f.name)]);
    assert.deepEqual(rules, [
      ['app.example', 'stable=70, canary=20, legacy=10, dark=0', ['response-headers']],
      ['off.example', 'dark=0', []],
      ['old.example', 'redirect 302 to {scheme}://new.example{path}', ['redirect']],
      ['match.example', 'legacy', []],
      ['match.example', 'canary', []],
      ['match.example', 'dark=1', []],
      ['match.example', 'stable', []],
    ]);
  });
});
