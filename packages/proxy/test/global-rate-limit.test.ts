import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { RATE_LIMIT_STORE_CHANNEL, type RateLimitStoreEvent } from '@portico/proxy';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { type RedisServer, startRedis } from './helpers/redis-server.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

/**
 * Global rate limits: two proxies (as two edge nodes would be) count one limit in one real Redis. The
 * syncs are driven by hand (`globalLimits.sync()`) where the test needs to know they happened.
 */
describe('global rate limits: one limit over every instance, counted in Redis', () => {
  let app: Backend;
  let redis: RedisServer;
  let a: TestProxy;
  let b: TestProxy;
  const events: RateLimitStoreEvent[] = [];
  const onEvent = (event: unknown) => events.push(event as RateLimitStoreEvent);

  const routes = [
    {
      host: 'shared.example',
      rateLimit: { requestsPerMinute: 10, global: true, headers: true },
      paths: [{ path: '/', service: 'app' }],
    },
    {
      host: 'quota.example',
      rateLimit: { requestsPerMinute: 10, global: true, headers: true },
      paths: [{ path: '/', service: 'app' }],
    },
    {
      host: 'closed.example',
      rateLimit: { requestsPerMinute: 1_000, global: true, onStoreFailure: 'deny' as const },
      paths: [{ path: '/', service: 'app' }],
    },
    {
      host: 'open.example',
      rateLimit: { requestsPerMinute: 2, global: true, onStoreFailure: 'allow' as const },
      paths: [{ path: '/', service: 'app' }],
    },
    {
      host: 'local.example',
      rateLimit: { requestsPerMinute: 3, global: true },
      paths: [{ path: '/', service: 'app' }],
    },
  ];
  const get = async (proxy: TestProxy, host: string) => {
    const res = await request(`${proxy.url}/`, { headers: { host } });
    await res.body.text();
    return { status: res.statusCode, headers: res.headers };
  };
  const statuses = async (proxy: TestProxy, host: string, n: number) => {
    const seen: number[] = [];
    for (let i = 0; i < n; i++) seen.push((await get(proxy, host)).status);
    return seen;
  };
  const syncBoth = async () => {
    await a.proxy.globalLimits.sync();
    await b.proxy.globalLimits.sync();
  };

  before(async () => {
    subscribe(RATE_LIMIT_STORE_CHANNEL, onEvent);
    app = await startBackend('app', (_req, res) => res.end('app'));
    redis = await startRedis();
    const config = {
      rateLimitStore: { redis: { url: redis.url }, timeoutMs: 200, syncIntervalMs: 60_000 },
      routes,
      services: [{ name: 'app', endpoints: endpointsOf(app) }],
    };
    a = await startProxy(config);
    b = await startProxy(config);
  });
  after(async () => {
    unsubscribe(RATE_LIMIT_STORE_CHANNEL, onEvent);
    await a.close();
    await b.close();
    await redis.stop();
    await app.close();
  });

  it('two instances admit the limit between them, no more', async () => {
    // An instance admits on what it knows: each one's first request of a key, before any sync, counts
    // on its own (the over-admission is bounded by what instances admit in one sync interval).
    assert.deepEqual(await statuses(a, 'shared.example', 1), [200]);
    assert.deepEqual(await statuses(b, 'shared.example', 1), [200]);
    await syncBoth();
    await a.proxy.globalLimits.sync(); // a reads b's request too
    assert.deepEqual(await statuses(a, 'shared.example', 5), [200, 200, 200, 200, 200]);
    await syncBoth(); // a adds its 5; b reads 7 in all
    const fromB = await statuses(b, 'shared.example', 5);
    assert.deepEqual(fromB, [200, 200, 200, 429, 429], 'b admits the 3 left of 10');
    await syncBoth();
    await a.proxy.globalLimits.sync();
    assert.deepEqual(await statuses(a, 'shared.example', 2), [429, 429], 'a now knows of b’s requests');
    const refused = await get(b, 'shared.example');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} is within the minute`);
  });

  it('tells clients their quota with RateLimit-* fields when asked to', async () => {
    const before = Date.now();
    const first = await get(a, 'quota.example');
    assert.equal(first.status, 200);
    assert.equal(first.headers['ratelimit-limit'], '10');
    assert.equal(first.headers['ratelimit-remaining'], '9');
    assert.equal((await get(a, 'quota.example')).headers['ratelimit-remaining'], '8');
    const reset = Number(first.headers['ratelimit-reset']);
    assert.ok(reset >= 0 && reset <= 60 - Math.floor((before % 60_000) / 1000) + 1, `reset ${reset}`);
    const closed = await get(a, 'closed.example');
    assert.equal(closed.headers['ratelimit-limit'], undefined, 'only where `headers` is set');
  });

  it('while Redis is down: deny answers 503, allow lets everything through, local keeps counting here', async () => {
    events.length = 0;
    await redis.stop();
    // Counted requests need a sync to find the store gone.
    await statuses(a, 'closed.example', 1);
    await statuses(a, 'local.example', 1);
    await a.proxy.globalLimits.sync();
    assert.equal(a.proxy.globalLimits.state, 'down');
    assert.ok(a.proxy.globalLimits.errors > 0);
    assert.deepEqual(
      events.map((e) => e.state),
      ['down'],
    );
    assert.ok(!String(events[0]?.message).includes('redis://'), 'the store URL is never in a message');

    const closed = await get(a, 'closed.example');
    assert.equal(closed.status, 503, 'fail closed');
    assert.deepEqual(await statuses(a, 'open.example', 4), [200, 200, 200, 200], 'fail open');
    assert.deepEqual(
      await statuses(a, 'local.example', 3),
      [200, 200, 429],
      'the local count holds the limit of 3 (1 before the outage, 2 more)',
    );

    await redis.start();
    // ioredis reconnects (backoff up to 2 s); a sync then finds the store back.
    const deadline = Date.now() + 8_000;
    while (a.proxy.globalLimits.state === 'down' && Date.now() < deadline) {
      await a.proxy.globalLimits.sync();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(a.proxy.globalLimits.state, 'up');
    assert.deepEqual(
      events.map((e) => e.state),
      ['down', 'up'],
    );
    assert.equal((await get(a, 'closed.example')).status, 200, 'served again once the store answers');
  });
});
