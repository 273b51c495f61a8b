import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Agent, Pool, request } from 'undici';
import { endpointSlice, ingress, ingressClass, service } from '../../discovery/test/helpers/kube-fixtures.ts';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { type KubeHarness, startKubeHarness, until } from './helpers/kube-harness.ts';
import { type Pod, startPods } from './helpers/pods.ts';

/** The hash libraries the proxy verifies with, to make users the way htpasswd does. */
const proxyRequire = createRequire(new URL('../../proxy/package.json', import.meta.url));
const bcrypt = proxyRequire('bcryptjs') as { hashSync(password: string, rounds: number): string };
const apr1 = proxyRequire('apache-md5') as (password: string) => string;

const N = 'nginx.ingress.kubernetes.io/';

/**
 * `portico run --kubernetes --ingress-nginx-class nginx` against the fake API server: Ingresses of
 * class nginx, with ingress-nginx annotations, served on real sockets to real pods and a real auth
 * service; the behaviour each annotation has in ingress-nginx's own e2e tests.
 */
describe('portico run --kubernetes --ingress-nginx-class nginx: ingress-nginx Ingresses behave as there', () => {
  let h: KubeHarness;
  let pods: Pod[];
  let auth: Backend;
  let pool: Pool;
  const agents: Agent[] = [];
  const from = (address: string) => {
    const agent = new Agent({ localAddress: address });
    agents.push(agent);
    return agent;
  };
  const nginx = (name: string, host: string, annotations: Record<string, string>, path = '/') =>
    ingress(name, {
      className: 'nginx',
      host,
      paths: [
        { path, pathType: path === '/' ? 'Prefix' : 'ImplementationSpecific', service: 'web', port: 80 },
      ],
      annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`${N}${k}`, v])),
    });
  const send = async (
    host: string,
    path = '/',
    options: { method?: string; headers?: Record<string, string>; body?: string; dispatcher?: Agent } = {},
  ) => {
    const res = await request(`http://127.0.0.1:${h.httpPort()}${path}`, {
      method: (options.method ?? 'GET') as 'GET',
      headers: { host, ...options.headers },
      ...(options.body === undefined ? {} : { body: options.body }),
      dispatcher: options.dispatcher ?? pool,
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };

  before(async () => {
    pods = await startPods(['web-a', 'web-b']);
    auth = await startBackend('auth', (req, res) => {
      if (req.headers.authorization === 'Bearer ok') {
        res.setHeader('x-user', 'alice');
        return res.end();
      }
      res.statusCode = 401;
      res.end('no');
    });
    const sha = `{SHA}${createHash('sha1').update('sha-pass').digest('base64')}`;
    const users = [
      `bcrypt-user:${bcrypt.hashSync('bcrypt-pass', 4)}`,
      `apr1-user:${apr1('apr1-pass')}`,
      `sha-user:${sha}`,
    ];
    h = await startKubeHarness(
      (api) => {
        api.apply('ingressclasses', ingressClass('portico'));
        api.apply('ingressclasses', ingressClass('nginx', { controller: 'k8s.io/ingress-nginx' }));
        api.apply('services', service('web', { ports: [{ name: 'http', port: 80, targetPort: 8080 }] }));
        api.apply(
          'endpointslices',
          endpointSlice(
            'web-1',
            'web',
            [{ address: pods[0]!.address }],
            [{ name: 'http', port: pods[0]!.port }],
          ),
        );
        api.apply('services', service('web-v2', { ports: [{ name: 'http', port: 80, targetPort: 8080 }] }));
        api.apply(
          'endpointslices',
          endpointSlice(
            'web-v2-1',
            'web-v2',
            [{ address: pods[1]!.address }],
            [{ name: 'http', port: pods[1]!.port }],
          ),
        );
        api.apply('ingresses', nginx('stable', 'canary.example', {}));
        api.apply(
          'ingresses',
          ingress('canary', {
            className: 'nginx',
            host: 'canary.example',
            paths: [{ service: 'web-v2', port: 80 }],
            annotations: {
              [`${N}canary`]: 'true',
              [`${N}canary-weight`]: '30',
              [`${N}canary-by-header`]: 'X-Canary',
              [`${N}canary-by-cookie`]: 'beta',
            },
          }),
        );
        api.apply('secrets', {
          metadata: { name: 'basic-auth', namespace: 'default' },
          type: 'Opaque',
          data: { auth: Buffer.from(`${users.join('\n')}\n`).toString('base64') },
        });
        api.apply(
          'ingresses',
          nginx('rewrite', 'rewrite.example', { 'rewrite-target': '/$2' }, '/api(/|$)(.*)'),
        );
        api.apply(
          'ingresses',
          nginx('office', 'office.example', { 'whitelist-source-range': '127.0.0.1/32' }),
        );
        api.apply(
          'ingresses',
          nginx('basic', 'basic.example', {
            'auth-type': 'basic',
            'auth-secret': 'basic-auth',
            'auth-realm': 'Team',
          }),
        );
        api.apply(
          'ingresses',
          nginx('external', 'external.example', {
            'auth-url': `http://127.0.0.1:${auth.port}/verify`,
            'auth-response-headers': 'X-User',
          }),
        );
        api.apply(
          'ingresses',
          nginx('cors', 'cors.example', {
            'enable-cors': 'true',
            'cors-allow-origin': 'https://app.example',
          }),
        );
        api.apply(
          'ingresses',
          nginx('limited', 'limited.example', { 'limit-rps': '1', 'limit-burst-multiplier': '1' }),
        );
        api.apply('ingresses', nginx('small', 'small.example', { 'proxy-body-size': '1k' }));
        api.apply(
          'ingresses',
          nginx('sticky', 'sticky.example', {
            affinity: 'cookie',
            'session-cookie-name': 'route',
            'session-cookie-max-age': '60',
          }),
        );
        api.apply('ingresses', nginx('snippet', 'snippet.example', { 'configuration-snippet': 'deny all;' }));
      },
      { nginxClass: 'nginx' },
    );
    pool = new Pool(`http://127.0.0.1:${h.httpPort()}`, { connections: 2 });
    await until(async () => (await send('sticky.example')).status === 200, 5_000, 'the Ingresses are served');
  });
  after(async () => {
    await pool.close();
    await Promise.all(agents.map((a) => a.close()));
    await h.close();
    await auth.close();
    await Promise.all(pods.map((p) => p.close()));
  });

  it('rewrite-target with capture groups: /api/users reaches the pod as /users', async () => {
    const res = await send('rewrite.example', '/api/users?page=2');
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.text).url, '/users?page=2');
    assert.equal(JSON.parse((await send('rewrite.example', '/api')).text).url, '/');
  });

  it('whitelist-source-range serves listed client addresses only', async () => {
    assert.equal((await send('office.example', '/', { dispatcher: from('127.0.0.1') })).status, 200);
    assert.equal((await send('office.example', '/', { dispatcher: from('127.0.0.9') })).status, 403);
  });

  it('auth-type basic from the Secret: bcrypt, apr1 and SHA-1 users; 401 with the realm otherwise', async () => {
    const basic = (user: string, password: string) => ({
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
    });
    for (const [user, password] of [
      ['bcrypt-user', 'bcrypt-pass'],
      ['apr1-user', 'apr1-pass'],
      ['sha-user', 'sha-pass'],
    ] as const)
      assert.equal((await send('basic.example', '/', basic(user, password))).status, 200, user);
    const refused = await send('basic.example', '/', basic('sha-user', 'wrong'));
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['www-authenticate'], 'Basic realm="Team", charset="UTF-8"');
    assert.equal((await send('basic.example')).status, 401);
  });

  it('auth-url asks the auth service; its 401 goes back, a 2xx lets the request through', async () => {
    assert.equal((await send('external.example')).status, 401);
    assert.equal(
      (await send('external.example', '/', { headers: { authorization: 'Bearer ok' } })).status,
      200,
    );
  });

  it('enable-cors answers preflights at the edge', async () => {
    const res = await send('cors.example', '/', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
  });

  it('limit-rps answers 503 beyond the rate, as ingress-nginx does', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send('limited.example')).status);
    assert.deepEqual(statuses, [200, 503, 503]);
  });

  it('proxy-body-size refuses larger bodies with 413; without it, 1m is the limit', async () => {
    assert.equal((await send('small.example', '/', { method: 'POST', body: 'x'.repeat(2_000) })).status, 413);
    assert.equal((await send('small.example', '/', { method: 'POST', body: 'x'.repeat(500) })).status, 200);
    assert.equal(
      (await send('sticky.example', '/', { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) })).status,
      413,
    );
  });

  it('affinity cookie: the cookie ingress-nginx would set, by name and max-age', async () => {
    const res = await send('sticky.example');
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /^route=/);
    assert.match(cookie, /Max-Age=60/);
  });

  it('canary: by header (always, never), by cookie, and a 30% weight for the rest', async () => {
    const pod = async (headers: Record<string, string> = {}) =>
      JSON.parse((await send('canary.example', '/', { headers })).text).pod as string;
    for (let i = 0; i < 5; i++) {
      assert.equal(await pod({ 'x-canary': 'always' }), 'web-b');
      assert.equal(await pod({ 'x-canary': 'never' }), 'web-a');
      assert.equal(await pod({ cookie: 'session=1; beta=always' }), 'web-b');
      assert.equal(await pod({ cookie: 'beta=never' }), 'web-a');
    }
    let canary = 0;
    const n = 400;
    for (let i = 0; i < n; i++) if ((await pod()) === 'web-b') canary++;
    // 30% of 400 is 120; the binomial spread is about 9, so 90-150 holds unless the split is wrong.
    assert.ok(canary >= 90 && canary <= 150, `${canary} of ${n} went to the canary`);
  });

  it('a configuration-snippet Ingress is not served, and the reason is reported on it', async () => {
    assert.equal((await send('snippet.example')).status, 404);
    const issue = h.portico.kubernetes!.issues.find((i) => i.code === 'PORTICO_KUBE_NGINX_FAIL_CLOSED');
    assert.equal(issue?.object.name, 'snippet');
    assert.match(issue!.message, /configuration-snippet restricts access in a way Portico cannot honour/);
    const metrics = await (await fetch(`${h.portico.adminUrl}/metrics`)).text();
    assert.match(metrics, /^portico_discovery_issues\{code="PORTICO_KUBE_NGINX_FAIL_CLOSED"\} 1$/m);
  });
});
