import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '@portico/config';
import { AccessListFilter, RateLimitFilter } from '@portico/proxy';
import bcrypt from 'bcryptjs';
import { Agent, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

/** from sends requests from one loopback source address (127.0.0.x). */
function from(address: string): Agent {
  return new Agent({ localAddress: address });
}

describe('traffic policies: access lists and local rate limits', () => {
  let app: Backend;
  let proxy: TestProxy;
  const agents = new Map<string, Agent>();
  const agent = (address: string) => {
    let a = agents.get(address);
    if (a === undefined) {
      a = from(address);
      agents.set(address, a);
    }
    return a;
  };
  const get = async (address: string, host: string, headers: Record<string, string> = {}) => {
    const res = await request(`${proxy.url}/`, { dispatcher: agent(address), headers: { host, ...headers } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  before(async () => {
    app = await startBackend('app', (_req, res) => res.end('app'));
    proxy = await startProxy({
      listeners: [{ name: 'web', address: '127.0.0.1', port: 0, access: { deny: ['127.0.0.9'] } }],
      forwarding: { trustedProxies: ['127.0.0.8'] },
      routes: [
        {
          host: 'office.example',
          access: { allow: ['127.0.0.2', '2001:db8::/32'], deny: ['127.0.0.3'] },
          paths: [{ path: '/', service: 'app' }],
        },
        { host: 'open.example', paths: [{ path: '/', service: 'app' }] },
        {
          host: 'limited.example',
          rateLimit: { requestsPerSecond: 1, burst: 3 },
          paths: [{ path: '/', service: 'app' }],
        },
        {
          host: 'keyed.example',
          rateLimit: { requestsPerMinute: 60, burst: 1, key: 'header', header: 'X-Api-Key', status: 503 },
          paths: [{ path: '/', service: 'app' }],
        },
      ],
      services: [{ name: 'app', endpoints: endpointsOf(app) }],
    });
  });
  after(async () => {
    await proxy.close();
    await app.close();
    await Promise.all([...agents.values()].map((a) => a.close()));
  });

  it('an access list serves its allowed addresses only, deny winning, on the address Portico trusts', async () => {
    assert.equal((await get('127.0.0.2', 'office.example')).status, 200);
    const refused = await get('127.0.0.1', 'office.example');
    assert.equal(refused.status, 403);
    assert.equal(refused.body, 'forbidden\n');
    assert.equal((await get('127.0.0.3', 'office.example')).status, 403, 'deny wins');
    // Through a trusted proxy, the client is the X-Forwarded-For address, IPv6 included.
    const forwarded = (xff: string) => get('127.0.0.8', 'office.example', { 'x-forwarded-for': xff });
    assert.equal((await forwarded('2001:db8::5')).status, 200);
    assert.equal((await forwarded('2001:db9::5')).status, 403);
    assert.equal((await forwarded('127.0.0.2')).status, 200);
    // From an untrusted address, X-Forwarded-For counts for nothing.
    assert.equal((await get('127.0.0.1', 'office.example', { 'x-forwarded-for': '127.0.0.2' })).status, 403);
    assert.equal((await get('127.0.0.1', 'open.example')).status, 200, 'another route has no list');
  });

  it("a listener's access list refuses before any route is matched", async () => {
    assert.equal((await get('127.0.0.9', 'open.example')).status, 403);
    assert.equal((await get('127.0.0.9', 'nowhere.example')).status, 403, 'not even a 404');
  });

  it('a rate limit lets a burst through, then answers 429 with Retry-After, per client address', async () => {
    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 5; i++) {
      const res = await get('127.0.0.4', 'limited.example');
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers['retry-after'];
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.equal(retryAfter, '1');
    assert.equal(
      (await get('127.0.0.5', 'limited.example')).status,
      200,
      'another client has its own bucket',
    );
    await new Promise((r) => setTimeout(r, 1_100));
    assert.equal((await get('127.0.0.4', 'limited.example')).status, 200, 'a token came back after a second');
  });

  it('a rate limit keyed by a header limits each value; a request without it is not limited', async () => {
    const key = async (value?: string) =>
      (await get('127.0.0.6', 'keyed.example', value === undefined ? {} : { 'x-api-key': value })).status;
    assert.deepEqual([await key('a'), await key('a'), await key('b')], [200, 503, 200]);
    assert.deepEqual([await key(), await key(), await key()], [200, 200, 200]);
  });

  it('counts what the policies refused', () => {
    assert.ok(proxy.proxy.counters.denied >= 6, `denied ${proxy.proxy.counters.denied}`);
    assert.ok(proxy.proxy.counters.rateLimited >= 3, `rate limited ${proxy.proxy.counters.rateLimited}`);
  });
});

describe('RateLimitFilter and AccessListFilter on their own', () => {
  const limit = (fields: Record<string, unknown>) =>
    parseConfig({
      listeners: [{ name: 'l', port: 0 }],
      services: [{ name: 's', endpoints: [] }],
      routes: [{ rateLimit: fields, paths: [{ path: '/', service: 's' }] }],
    }).routes[0]!.rateLimit!;

  it('keeps at most maxKeys buckets: a flood of new keys cannot grow memory', () => {
    const filter = new RateLimitFilter(limit({ requestsPerSecond: 10, maxKeys: 100 }));
    for (let i = 0; i < 10_000; i++) filter.take(`key-${i}`, 0);
    assert.equal(filter.keys, 100);
  });

  it('refills at the rate up to the burst, and says how long until the next token', () => {
    const filter = new RateLimitFilter(limit({ requestsPerMinute: 6, burst: 2 }));
    assert.equal(filter.take('k', 0), 0);
    assert.equal(filter.take('k', 0), 0);
    assert.equal(filter.take('k', 0), 10_000, 'six a minute: one every 10 s');
    assert.equal(filter.take('k', 5_000), 5_000);
    assert.equal(filter.take('k', 10_000), 0);
    assert.equal(filter.take('k', 100_000), 0, 'a long pause refills to the burst, not beyond');
    assert.equal(filter.take('k', 100_000), 0);
    assert.ok(filter.take('k', 100_000) > 0);
  });

  it('matches IPv4 and IPv6 networks', () => {
    const list = new AccessListFilter({ allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.1.0.0/16'] });
    assert.ok(list.allows('10.2.3.4'));
    assert.ok(!list.allows('10.1.3.4'));
    assert.ok(list.allows('2001:db8::1'));
    assert.ok(!list.allows('2001:db9::1'));
    assert.ok(!list.allows('192.0.2.1'));
  });
});

describe('CORS at the edge (routes[].cors)', () => {
  let app: Backend;
  let proxy: TestProxy;
  let upstreamSaw = 0;

  before(async () => {
    app = await startBackend('app', (_req, res) => {
      upstreamSaw++;
      res.setHeader('access-control-allow-origin', 'https://wrong.example');
      res.end('app');
    });
    proxy = await startProxy({
      routes: [
        {
          host: 'api.example',
          cors: {
            allowOrigins: ['https://app.example', 'https://*.shop.example'],
            allowOriginPatterns: ['https://preview-[0-9]+\\.example\\.net'],
            allowCredentials: true,
            exposeHeaders: ['X-Total'],
            maxAgeSeconds: 600,
          },
          paths: [{ path: '/', service: 'app' }],
        },
        { host: 'public.example', cors: { allowOrigins: ['*'] }, paths: [{ path: '/', service: 'app' }] },
      ],
      services: [{ name: 'app', endpoints: endpointsOf(app) }],
    });
  });
  after(async () => {
    await proxy.close();
    await app.close();
  });

  const send = async (method: string, host: string, headers: Record<string, string>) => {
    const res = await request(`${proxy.url}/items`, { method, headers: { host, ...headers } });
    await res.body.dump();
    return { status: res.statusCode, headers: res.headers };
  };

  it('answers a preflight from an allowed origin at the edge, 204, without going upstream', async () => {
    upstreamSaw = 0;
    for (const origin of [
      'https://app.example',
      'https://eu.shop.example',
      'https://preview-42.example.net',
    ]) {
      const res = await send('OPTIONS', 'api.example', {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      });
      assert.equal(res.status, 204, origin);
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      assert.equal(res.headers['access-control-allow-methods'], 'GET, PUT, POST, DELETE, PATCH, OPTIONS');
      assert.match(String(res.headers['access-control-allow-headers']), /Content-Type/);
      assert.equal(res.headers['access-control-max-age'], '600');
      assert.match(String(res.headers.vary), /Origin/);
    }
    assert.equal(upstreamSaw, 0);
  });

  it('lets a preflight from any other origin go upstream, with no CORS answer of its own', async () => {
    upstreamSaw = 0;
    for (const origin of [
      'https://evil.example',
      'https://shop.example',
      'http://app.example',
      'https://preview-x.example.net',
    ]) {
      const res = await send('OPTIONS', 'api.example', { origin, 'access-control-request-method': 'PUT' });
      assert.equal(res.status, 200, origin);
      assert.notEqual(res.headers['access-control-allow-origin'], origin);
    }
    assert.equal(upstreamSaw, 4);
  });

  it("tells an allowed origin so on the response, replacing the upstream's, with Vary: Origin", async () => {
    const allowed = await send('GET', 'api.example', { origin: 'https://app.example' });
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(allowed.headers['access-control-expose-headers'], 'X-Total');
    assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
    assert.match(String(allowed.headers.vary), /Origin/);
    const other = await send('GET', 'api.example', { origin: 'https://evil.example' });
    assert.equal(
      other.headers['access-control-allow-origin'],
      'https://wrong.example',
      "the upstream's own, untouched",
    );
    assert.match(String(other.headers.vary), /Origin/);
  });

  it('"*" without credentials answers any origin with *', async () => {
    const res = await send('GET', 'public.example', { origin: 'https://anyone.example' });
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });
});

describe('basic auth (routes[].basicAuth) against htpasswd entries', () => {
  let app: Backend;
  let proxy: TestProxy;
  let dir: string;
  const apr1 = createRequire(import.meta.url)('apache-md5') as (password: string, salt?: string) => string;

  before(async () => {
    app = await startBackend('app', (req, res) =>
      res.end(`app saw ${req.headers.authorization ? 'credentials' : 'none'}`),
    );
    dir = await mkdtemp(join(tmpdir(), 'portico-htpasswd-'));
    await writeFile(join(dir, 'htpasswd'), `# users\nfile-user:${bcrypt.hashSync('file-secret', 4)}\n`);
    proxy = await startProxy({
      routes: [
        {
          host: 'inline.example',
          basicAuth: {
            realm: 'Staff only',
            users: [
              `bcrypt-user:${bcrypt.hashSync('s3cret', 4).replace('$2b$', '$2y$')}`,
              `apr1-user:${apr1('apr-secret')}`,
              `sha-user:{SHA}${createHash('sha1').update('sha-secret').digest('base64')}`,
            ],
          },
          paths: [{ path: '/', service: 'app' }],
        },
        {
          host: 'file.example',
          basicAuth: { htpasswdFile: join(dir, 'htpasswd') },
          paths: [{ path: '/', service: 'app' }],
        },
      ],
      services: [{ name: 'app', endpoints: endpointsOf(app) }],
    });
  });
  after(async () => {
    await proxy.close();
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  const as = async (host: string, user?: string, password?: string) => {
    const headers: Record<string, string> = { host };
    if (user !== undefined)
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const res = await request(`${proxy.url}/`, { headers });
    return {
      status: res.statusCode,
      challenge: res.headers['www-authenticate'],
      body: await res.body.text(),
    };
  };

  it('answers 401 with the realm without credentials, or with wrong ones', async () => {
    const none = await as('inline.example');
    assert.equal(none.status, 401);
    assert.equal(none.challenge, 'Basic realm="Staff only", charset="UTF-8"');
    assert.equal((await as('inline.example', 'bcrypt-user', 'wrong')).status, 401);
    assert.equal((await as('inline.example', 'nobody', 's3cret')).status, 401);
    assert.equal(
      (await as('inline.example', 'sha-user', 'apr-secret')).status,
      401,
      "another user's password",
    );
  });

  it('lets bcrypt, apr1 and SHA-1 users through, from inline lines and from a file', async () => {
    for (const [user, password] of [
      ['bcrypt-user', 's3cret'],
      ['apr1-user', 'apr-secret'],
      ['sha-user', 'sha-secret'],
    ] as const) {
      const res = await as('inline.example', user, password);
      assert.equal(res.status, 200, user);
      assert.equal(res.body, 'app saw credentials');
    }
    assert.equal((await as('file.example', 'file-user', 'file-secret')).status, 200);
    assert.equal((await as('file.example', 'file-user', 'nope')).status, 401);
    assert.equal(proxy.proxy.counters.unauthorized, 5, 'every 401 counted');
  });

  it('a config naming an htpasswd file that is not there is refused; the last good one keeps serving', async () => {
    const config = proxy.proxy.snapshot.config;
    const broken = {
      ...config,
      routes: [{ ...config.routes[1]!, basicAuth: { realm: 'x', htpasswdFile: join(dir, 'missing') } }],
    };
    await assert.rejects(proxy.proxy.apply(broken), /PORTICO_APPLY_FAILED|cannot prepare the config/);
    assert.equal((await as('file.example', 'file-user', 'file-secret')).status, 200);
  });
});

describe('in-flight limits (routes[].inFlight)', () => {
  let slow: Backend;
  let proxy: TestProxy;
  const agents: Agent[] = [];
  const release: (() => void)[] = [];

  before(async () => {
    slow = await startBackend('slow', (_req, res) => {
      release.push(() => res.end('done'));
    });
    proxy = await startProxy({
      routes: [
        { host: 'route.example', inFlight: { max: 2 }, paths: [{ path: '/', service: 'slow' }] },
        {
          host: 'client.example',
          inFlight: { maxPerClient: 1, status: 429 },
          paths: [{ path: '/', service: 'slow' }],
        },
      ],
      services: [{ name: 'slow', endpoints: endpointsOf(slow) }],
    });
  });
  after(async () => {
    for (const r of release.splice(0)) r();
    await proxy.close();
    await slow.close();
    await Promise.all(agents.map((a) => a.close()));
  });

  const start = (host: string, address = '127.0.0.1') => {
    const dispatcher = new Agent({ localAddress: address });
    agents.push(dispatcher);
    return request(`${proxy.url}/`, { headers: { host }, dispatcher }).then(async (res) => ({
      status: res.statusCode,
      body: await res.body.text(),
    }));
  };
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it("refuses a route's requests beyond `max` in flight, and admits again when they end", async () => {
    const first = [start('route.example'), start('route.example')];
    await until(() => release.length === 2);
    assert.deepEqual(await start('route.example'), { status: 503, body: 'too many requests in flight\n' });
    for (const r of release.splice(0)) r();
    assert.deepEqual(
      (await Promise.all(first)).map((r) => r.status),
      [200, 200],
    );
    const again = start('route.example');
    await until(() => release.length === 1);
    for (const r of release.splice(0)) r();
    assert.equal((await again).status, 200, 'the count went back down');
  });

  it('refuses a client beyond `maxPerClient`, not the others', async () => {
    const mine = start('client.example', '127.0.0.2');
    await until(() => release.length === 1);
    assert.equal((await start('client.example', '127.0.0.2')).status, 429);
    const theirs = start('client.example', '127.0.0.3');
    await until(() => release.length === 2);
    for (const r of release.splice(0)) r();
    assert.deepEqual([(await mine).status, (await theirs).status], [200, 200]);
  });
});
