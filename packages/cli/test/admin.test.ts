import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '@portico/config';
import { pino } from 'pino';
import { type RunningPortico, startPortico } from 'portico';
import { request } from 'undici';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { runPortico } from './helpers/portico-process.ts';

const TOKEN = 'a-test-token-of-enough-length';

/** parsePrometheus reads the text exposition format into `name{labels}` -> value. */
function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // Values as Prometheus reads them (Go ParseFloat: NaN and Inf in any case).
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]?[Ii]nf)$/.exec(
      line,
    );
    assert.ok(match, `not a valid exposition line: ${line}`);
    out.set(match[1]!, Number(match[2]));
  }
  return out;
}

describe('admin API', () => {
  let a: Backend;
  let b: Backend;
  let dir: string;
  let running: RunningPortico;
  let admin: string;
  let proxyUrl: string;

  before(async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    dir = await mkdtemp(join(tmpdir(), 'portico-admin-'));
    const file = join(dir, 'portico.yaml');
    await writeFile(
      file,
      `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]
routes: [{ name: shop, host: shop.example, paths: [{ path: /, service: web }] }]
services:
  - name: web
    endpoints: [{ address: 127.0.0.1, port: ${a.port} }, { address: 127.0.0.1, port: ${b.port} }]
    affinity: { type: cookie, secret: super-secret-affinity-key }
admin: { port: 0, token: ${TOKEN} }
`,
    );
    running = await startPortico(
      { config: file },
      pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() })),
    );
    admin = running.adminUrl!;
    proxyUrl = `http://127.0.0.1:${running.proxy.listeners()[0]!.port}`;
  });
  after(async () => {
    await running.stop(200);
    await Promise.all([a.close(), b.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const res = await request(`${admin}${path}`);
    const text = await res.body.text();
    return { status: res.statusCode, text, json: () => JSON.parse(text) };
  };
  const post = async (path: string, token?: string, body?: unknown) => {
    const res = await request(`${admin}${path}`, {
      method: 'POST',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : null,
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: () => JSON.parse(text) };
  };

  it('describes itself in OpenAPI', async () => {
    const spec = (await get('/openapi.json')).json();
    assert.match(spec.openapi, /^3\./);
    for (const path of [
      '/healthz',
      '/readyz',
      '/routes',
      '/services',
      '/metrics',
      '/config',
      '/config/diff',
      '/drain',
    ]) {
      assert.ok(spec.paths[path], `${path} is described`);
    }
  });

  it('listens on loopback and answers health and readiness', async () => {
    assert.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual((await get('/healthz')).json(), { status: 'ok' });
    assert.deepEqual((await get('/readyz')).json(), { ready: true });
  });

  it('lists routes, explains a URL, and shows services, listeners and the config with secrets redacted', async () => {
    assert.deepEqual((await get('/routes')).json(), [
      {
        id: 'routes[0].paths[0]',
        route: 'shop',
        host: 'shop.example',
        path: '/',
        type: 'Prefix',
        service: 'web',
        match: null,
        filters: [],
        requests: 0,
      },
    ]);
    const explained = (await get(`/routes?explain=${encodeURIComponent('http://shop.example/cart')}`)).json();
    assert.equal(explained.match.service, 'web');
    assert.equal((await get('/routes?explain=not-a-url')).status, 400);
    const [service] = (await get('/services')).json();
    assert.equal(service.name, 'web');
    assert.equal(service.endpoints.length, 2);
    assert.equal(service.endpoints[0].healthy, true);
    assert.equal((await get('/listeners')).json()[0].name, 'web');
    const config = (await get('/config')).text;
    assert.doesNotMatch(config, new RegExp(TOKEN));
    assert.doesNotMatch(config, /super-secret-affinity-key/);
    assert.match(config, /<redacted>/);
  });

  it('serves Prometheus metrics that parse and move with traffic', async () => {
    const before = parsePrometheus((await get('/metrics')).text);
    for (let i = 0; i < 5; i++) {
      const res = await request(`${proxyUrl}/`, { headers: { host: 'shop.example' } });
      await res.body.text();
    }
    const afterScrape = parsePrometheus((await get('/metrics')).text);
    assert.equal(afterScrape.get('portico_requests_total')! - (before.get('portico_requests_total') ?? 0), 5);
    const perEndpoint = [...afterScrape.entries()].filter(([k]) =>
      k.startsWith('portico_endpoint_requests_total{'),
    );
    assert.equal(
      perEndpoint.reduce((sum, [, v]) => sum + v, 0),
      afterScrape.get('portico_requests_total'),
    );
    assert.ok(afterScrape.has('portico_process_resident_memory_bytes'));
    assert.ok((afterScrape.get('portico_route_responses_total{route="shop",class="2xx"}') ?? 0) >= 5);
    assert.ok((afterScrape.get('portico_service_responses_total{service="web",class="2xx"}') ?? 0) >= 5);
    const count = afterScrape.get('portico_route_request_duration_seconds_count{route="shop"}') ?? 0;
    assert.ok(count >= 5);
    assert.equal(
      afterScrape.get('portico_route_request_duration_seconds_bucket{route="shop",le="+Inf"}'),
      count,
      '+Inf bucket equals the count',
    );
    assert.ok((afterScrape.get('portico_service_upstream_ttfb_seconds_count{service="web"}') ?? 0) >= 5);
    assert.equal(afterScrape.get('portico_service_retries_total{service="web"}'), 0);
    assert.ok(afterScrape.has('portico_config_apply_seconds'));
    assert.equal(afterScrape.get('portico_service_retries_active{service="web"}'), 0);
    const upstreamConnections = [...afterScrape.entries()].filter(([k]) =>
      k.startsWith('portico_endpoint_connections{'),
    );
    assert.ok(
      upstreamConnections.reduce((sum, [, v]) => sum + v, 0) >= 1,
      'pooled upstream connections are counted',
    );
    assert.equal(afterScrape.get('portico_config_version'), 1);
  });

  it('requires the bearer token to change state, and disabling an endpoint takes it out of rotation', async () => {
    const key = `127.0.0.1:${a.port}`;
    assert.equal((await post(`/endpoints/${key}/disable`)).status, 401);
    assert.equal((await post(`/endpoints/${key}/disable`, 'wrong-token-wrong-token')).status, 401);
    assert.deepEqual((await post(`/endpoints/${key}/disable`, TOKEN)).json(), {
      endpoint: key,
      disabled: true,
    });
    const served = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await request(`${proxyUrl}/`, { headers: { host: 'shop.example' } });
      served.add(JSON.parse(await res.body.text()).backend);
    }
    assert.deepEqual([...served], ['b']);
    assert.equal((await post(`/endpoints/${key}/enable`, TOKEN)).status, 200);
    assert.equal((await post('/endpoints/127.0.0.1:1/disable', TOKEN)).status, 404);
  });

  it('validates a proposed config without applying it', async () => {
    const bad = await post('/config/validate', TOKEN, { listeners: [{ name: 'x', port: 'eighty' }] });
    assert.equal(bad.json().valid, false);
    assert.match(bad.json().problems[0].message, /must be integer/);
    const good = await post('/config/validate', TOKEN, { listeners: [{ name: 'x', port: 80 }] });
    assert.deepEqual(good.json(), { valid: true, problems: [] });
  });

  it('refuses to bind beyond loopback unless allowRemote is set', () => {
    const result = validateConfig({ listeners: [{ name: 'x', port: 80 }], admin: { address: '0.0.0.0' } });
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.issues[0]!.message, /not loopback; set admin\.allowRemote: true/);
    assert.equal(
      validateConfig({
        listeners: [{ name: 'x', port: 80 }],
        admin: { address: '0.0.0.0', allowRemote: true },
      }).ok,
      true,
    );
  });

  it('portico status, routes and endpoints read it', async () => {
    const routes = await runPortico(['routes', '--admin', admin]);
    assert.equal(routes.code, 0, routes.stderr);
    assert.deepEqual(routes.stdout.trim().split('\n'), [
      'HOST          PATH  TYPE    MATCH  SERVICE  FILTERS  ROUTE',
      'shop.example  /     Prefix  -      web      -        shop',
    ]);
    const endpoints = await runPortico(['endpoints', 'web', '--admin', admin]);
    assert.match(endpoints.stdout, /^web: round-robin\n/);
    assert.match(endpoints.stdout, new RegExp(`127\\.0\\.0\\.1:${a.port}\\s+available\\s+1`));
    assert.equal((await runPortico(['endpoints', 'nope', '--admin', admin])).code, 1);
    const status = await runPortico(['status', '--admin', admin]);
    assert.match(status.stdout, /^config v1 from .*portico\.yaml, applied /);
    assert.match(status.stdout, /ready: true {2}draining: false/);
    const down = await runPortico(['status', '--admin', 'http://127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /nothing answers at http:\/\/127\.0\.0\.1:1: .*Add `admin: \{ port: 9901 \}`/);
  });

  it('portico status, routes and endpoints print JSON with --json', async () => {
    const routes = await runPortico(['routes', '--admin', admin, '--json']);
    assert.equal(routes.code, 0, routes.stderr);
    const table = JSON.parse(routes.stdout) as { host: string; service: string }[];
    assert.deepEqual(
      table.map((r) => [r.host, r.service]),
      [['shop.example', 'web']],
    );
    const endpoints = JSON.parse(
      (await runPortico(['endpoints', 'web', '--admin', admin, '--json'])).stdout,
    ) as {
      name: string;
      endpoints: { endpoint: string }[];
    };
    assert.equal(endpoints.name, 'web');
    assert.equal(endpoints.endpoints[0]!.endpoint, `127.0.0.1:${a.port}`);
    const status = JSON.parse((await runPortico(['status', '--admin', admin, '--json'])).stdout) as {
      version: number;
      ready: boolean;
      listeners: unknown[];
    };
    assert.equal(status.ready, true);
    assert.equal(status.listeners.length, 1);
  });

  it('diffs a proposed config, and PUT /config applies one guarded by If-Match', async () => {
    const current = await request(`${admin}/config`);
    assert.equal(current.headers.etag, '"1"');
    const body = JSON.parse(await current.body.text()).config;
    const proposal = structuredClone(body);
    delete proposal.admin; // keep the admin API out of the proposal: its token is redacted here
    proposal.routes[0].paths.push({ path: '/api', type: 'Prefix', service: 'api' });
    proposal.routes.push({ host: 'new.example', paths: [{ path: '/', service: 'web' }] });
    proposal.services.push({ name: 'api', endpoints: [] });
    proposal.services[0].affinity = undefined;
    const diff = await post('/config/diff', TOKEN, JSON.parse(JSON.stringify(proposal)));
    assert.deepEqual(diff.json(), {
      routesAdded: ['shop.example Prefix /api', 'new.example Prefix /'],
      routesRemoved: [],
      routesChanged: [],
      routesShadowed: [],
      servicesAdded: ['api'],
      servicesRemoved: [],
      servicesWithoutEndpoints: ['api'],
    });

    const put = async (headers: Record<string, string>, document: unknown) => {
      const res = await request(`${admin}/config`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(document),
      });
      return { status: res.statusCode, json: JSON.parse(await res.body.text()) };
    };
    const replacement = { ...JSON.parse(JSON.stringify(proposal)), admin: { port: 0, token: TOKEN } };
    assert.equal((await put({}, replacement)).status, 428);
    assert.equal((await put({ 'if-match': '"7"' }, replacement)).status, 412);
    const invalid = await put(
      { 'if-match': '"1"' },
      { ...replacement, routes: [{ paths: [{ path: 'x', service: 'web' }] }] },
    );
    assert.equal(invalid.status, 422);
    const applied = await put({ 'if-match': '"1"' }, replacement);
    assert.deepEqual(applied.json, { applied: true, version: 2 });
    const res = await request(`${proxyUrl}/`, { headers: { host: 'new.example' } });
    assert.equal(res.statusCode, 200, 'the new route serves');
    await res.body.text();
  });
});
