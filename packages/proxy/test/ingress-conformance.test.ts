import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';

/**
 * The kubernetes-sigs/ingress-controller-conformance features `path_rules` and `host_rules` (and the 404
 * of `default_backend`), run through a real Portico in front of one real backend per service. Each row is a
 * scenario: request, expected status, serving service, and the path and host the backend must see.
 */
const SERVICES = [
  'foo-exact',
  'foo-prefix',
  'aaa-slash-bbb-prefix',
  'aaa-prefix',
  'aaa-slash-bbb-slash-prefix',
  'foo-slash-exact',
  'wildcard-foo-com',
  'foo-bar-com',
];

const ROUTES = [
  { host: 'exact-path-rules', paths: [{ path: '/foo', type: 'Exact', service: 'foo-exact' }] },
  {
    host: 'prefix-path-rules',
    paths: [
      { path: '/foo', type: 'Prefix', service: 'foo-prefix' },
      { path: '/aaa/bbb', type: 'Prefix', service: 'aaa-slash-bbb-prefix' },
      { path: '/aaa', type: 'Prefix', service: 'aaa-prefix' },
    ],
  },
  {
    host: 'mixed-path-rules',
    paths: [
      { path: '/foo', type: 'Prefix', service: 'foo-prefix' },
      { path: '/foo', type: 'Exact', service: 'foo-exact' },
    ],
  },
  {
    host: 'trailing-slash-path-rules',
    paths: [
      { path: '/aaa/bbb/', type: 'Prefix', service: 'aaa-slash-bbb-slash-prefix' },
      { path: '/foo/', type: 'Exact', service: 'foo-slash-exact' },
    ],
  },
  { host: '*.foo.com', paths: [{ path: '/', type: 'Prefix', service: 'wildcard-foo-com' }] },
  { host: 'foo.bar.com', paths: [{ path: '/', type: 'Prefix', service: 'foo-bar-com' }] },
] as const;

const SCENARIOS: [string, string, number, string?][] = [
  // path_rules.feature
  ['exact /foo matches request /foo', 'http://exact-path-rules/foo', 200, 'foo-exact'],
  ['exact /foo does not match request /foo/', 'http://exact-path-rules/foo/', 404],
  ['exact /foo does not match request /FOO', 'http://exact-path-rules/FOO', 404],
  ['exact /foo does not match request /bar', 'http://exact-path-rules/bar', 404],
  ['prefix /foo matches request /foo', 'http://prefix-path-rules/foo', 200, 'foo-prefix'],
  ['prefix /foo matches request /foo/', 'http://prefix-path-rules/foo/', 200, 'foo-prefix'],
  ['prefix /foo does not match request /FOO', 'http://prefix-path-rules/FOO', 404],
  [
    'prefix /aaa/bbb matches request /aaa/bbb',
    'http://prefix-path-rules/aaa/bbb',
    200,
    'aaa-slash-bbb-prefix',
  ],
  [
    'prefix /aaa/bbb matches request /aaa/bbb/ccc',
    'http://prefix-path-rules/aaa/bbb/ccc',
    200,
    'aaa-slash-bbb-prefix',
  ],
  ['prefix /aaa matches request /aaa/ccc', 'http://prefix-path-rules/aaa/ccc', 200, 'aaa-prefix'],
  ['prefix /aaa does not match request /aaaccc', 'http://prefix-path-rules/aaaccc', 404],
  ['exact /foo is preferred over prefix /foo', 'http://mixed-path-rules/foo', 200, 'foo-exact'],
  [
    'prefix /aaa/bbb/ matches request /aaa/bbb',
    'http://trailing-slash-path-rules/aaa/bbb',
    200,
    'aaa-slash-bbb-slash-prefix',
  ],
  [
    'prefix /aaa/bbb/ matches request /aaa/bbb/',
    'http://trailing-slash-path-rules/aaa/bbb/',
    200,
    'aaa-slash-bbb-slash-prefix',
  ],
  ['exact /foo/ does not match request /foo', 'http://trailing-slash-path-rules/foo', 404],
  // host_rules.feature (the TLS scenario belongs with TLS termination)
  ['host foo.bar.com matches request foo.bar.com', 'http://foo.bar.com/', 200, 'foo-bar-com'],
  ['host foo.bar.com does not match request subdomain.bar.com', 'http://subdomain.bar.com/', 404],
  ['*.foo.com matches bar.foo.com based on shared suffix', 'http://bar.foo.com/', 200, 'wildcard-foo-com'],
  ['*.foo.com does not match baz.bar.foo.com (one label only)', 'http://baz.bar.foo.com/', 404],
  ['*.foo.com does not match foo.com (no label)', 'http://foo.com/', 404],
];

describe('ingress-controller-conformance: path_rules and host_rules through the proxy', () => {
  const backends = new Map<string, Backend>();
  let proxy: TestProxy;

  before(async () => {
    for (const name of SERVICES) backends.set(name, await startBackend(name));
    proxy = await startProxy({
      routes: ROUTES.map((r) => ({ host: r.host, paths: r.paths.map((p) => ({ ...p })) })),
      services: SERVICES.map((name) => ({
        name,
        endpoints: [{ address: '127.0.0.1', port: backends.get(name)!.port }],
      })),
    });
  });
  after(async () => {
    await proxy.close();
    await Promise.all([...backends.values()].map((b) => b.close()));
  });

  for (const [label, url, status, service] of SCENARIOS) {
    it(`${label}: ${status}${service ? ` from ${service}` : ''}`, async () => {
      const target = new URL(url);
      const res = await request(`${proxy.url}${target.pathname}`, { headers: { host: target.host } });
      const body = await res.body.text();
      assert.equal(res.statusCode, status);
      if (service === undefined) return;
      const seen = JSON.parse(body);
      assert.equal(seen.backend, service, 'served by');
      assert.equal(seen.url, target.pathname, 'the request path must be unchanged');
      assert.equal(seen.headers.host, target.host, 'the request host must be unchanged');
    });
  }

  it('default_backend: unmatched requests get 404 for every method', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'] as const) {
      const res = await request(`${proxy.url}/`, { method, headers: { host: 'foo.bar' } });
      await res.body.text();
      assert.equal(res.statusCode, 404, method);
    }
  });
});
