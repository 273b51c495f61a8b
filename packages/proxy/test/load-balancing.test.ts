import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Pool, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';

type ServiceInput = Record<string, unknown>;

async function withService(
  backends: Backend[],
  service: ServiceInput,
  run: (proxy: TestProxy) => Promise<void>,
  extra: ServiceInput = {},
) {
  const proxy = await startProxy({
    routes: [{ paths: [{ path: '/', service: 's' }] }],
    services: [
      { name: 's', endpoints: backends.map((b) => ({ address: '127.0.0.1', port: b.port })), ...service },
    ],
    ...extra,
  });
  try {
    await run(proxy);
  } finally {
    await proxy.close();
    await Promise.all(backends.map((b) => b.close().catch(() => {})));
  }
}

async function backends(n: number, handler?: Parameters<typeof startBackend>[1]): Promise<Backend[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startBackend(`b${i}`, handler)));
}

/** load sends `count` requests over `connections` keep-alive connections and returns who served them. */
async function load(url: string, count: number, connections = 16, headers: Record<string, string> = {}) {
  const pool = new Pool(url, { connections });
  const served: string[] = [];
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < count) {
        next++;
        const res = await pool.request({
          path: '/',
          method: 'GET',
          headers: { host: 'lb.example', ...headers },
        });
        const text = await res.body.text();
        statuses.push(res.statusCode);
        if (res.statusCode === 200) served.push(JSON.parse(text).backend);
      }
    }),
  );
  await pool.close();
  return { served, statuses };
}

function counts(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

describe('load balancing through the proxy', () => {
  it('weighted round robin: 10,000 requests within 5% of weights 1:2:3', async () => {
    const bs = await backends(3);
    const weights = [1, 2, 3];
    const proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 's' }] }],
      services: [
        {
          name: 's',
          endpoints: bs.map((b, i) => ({ address: '127.0.0.1', port: b.port, weight: weights[i]! })),
        },
      ],
    });
    try {
      const { served } = await load(proxy.url, 10_000);
      const c = counts(served);
      for (let i = 0; i < 3; i++) {
        const share = (c[`b${i}`] ?? 0) / 10_000;
        const expected = weights[i]! / 6;
        assert.ok(Math.abs(share - expected) <= 0.05 * expected, `b${i}: ${share} vs ${expected}`);
      }
    } finally {
      await proxy.close();
      await Promise.all(bs.map((b) => b.close()));
    }
  });

  it('least-request sends fewer requests to a slow endpoint', async () => {
    const slow = await startBackend('slow', (_req, res) =>
      setTimeout(() => res.end(JSON.stringify({ backend: 'slow' })), 50),
    );
    const fast = await startBackend('fast');
    await withService([slow, fast], { balancer: 'least-request' }, async (proxy) => {
      const c = counts((await load(proxy.url, 600, 8)).served);
      assert.ok((c['slow'] ?? 0) < (c['fast'] ?? 0) / 4, JSON.stringify(c));
    });
  });

  it('ring-hash on a header: one key, one endpoint, across 1,000 requests', async () => {
    const bs = await backends(4);
    await withService(
      bs,
      { balancer: 'ring-hash', hashKey: { source: 'header', name: 'x-user' } },
      async (proxy) => {
        for (const user of ['alice', 'bob', 'carol']) {
          const c = counts((await load(proxy.url, 334, 1, { 'x-user': user })).served); // one at a time: under the load bound
          assert.equal(Object.keys(c).length, 1, `${user}: ${JSON.stringify(c)}`);
        }
      },
    );
  });

  it('bounded loads spread a hot key when its endpoint is over 1.25x the average in flight', async () => {
    let inFlight = 0;
    const max: Record<string, number> = {};
    const bs = await Promise.all(
      ['b0', 'b1', 'b2'].map((name) =>
        startBackend(name, (_req, res) => {
          inFlight++;
          const mine = (max[`${name}-now`] ?? 0) + 1;
          max[`${name}-now`] = mine;
          max[name] = Math.max(max[name] ?? 0, mine);
          setTimeout(() => {
            max[`${name}-now`]!--;
            inFlight--;
            res.end(JSON.stringify({ backend: name }));
          }, 100);
        }),
      ),
    );
    await withService(
      bs,
      { balancer: 'maglev', hashKey: { source: 'header', name: 'x-user' } },
      async (proxy) => {
        const { served } = await load(proxy.url, 60, 30, { 'x-user': 'hot' });
        assert.equal(served.length, 60);
        const peak = Math.max(max['b0'] ?? 0, max['b1'] ?? 0, max['b2'] ?? 0);
        assert.ok(peak <= Math.ceil((1.25 * 31) / 3), `an endpoint had ${peak} in flight`);
        assert.ok(Object.keys(counts(served)).length > 1, 'the hot key spilled over');
        void inFlight;
      },
    );
  });

  it('cookie affinity pins across 1,000 requests, ignores a tampered cookie, and re-pins when the endpoint dies', async () => {
    const bs = await backends(3);
    await withService(
      bs,
      { affinity: { type: 'cookie', secret: 'a-shared-secret-of-some-length' } },
      async (proxy) => {
        const first = await request(`${proxy.url}/`, { headers: { host: 'lb.example' } });
        const pinnedTo = JSON.parse(await first.body.text()).backend;
        const setCookie = String(first.headers['set-cookie']);
        assert.match(
          setCookie,
          /^portico-affinity=[a-z0-9]+\.[a-z0-9]+\.[A-Za-z0-9_-]{22}; Path=\/; Max-Age=10800; SameSite=Lax; HttpOnly$/,
        );
        assert.doesNotMatch(setCookie, /127\.0\.0\.1/, 'the cookie does not carry the address');
        const cookie = setCookie.split(';')[0]!;
        const c = counts((await load(proxy.url, 1_000, 8, { cookie })).served);
        assert.deepEqual(c, { [pinnedTo]: 1_000 });

        const tampered = `${cookie.slice(0, -2)}xx`;
        const again = await request(`${proxy.url}/`, { headers: { host: 'lb.example', cookie: tampered } });
        await again.body.text();
        assert.ok(again.headers['set-cookie'], 'a tampered cookie is replaced');

        await bs.find((b) => b.name === pinnedTo)!.close();
        const moved = await request(`${proxy.url}/`, { headers: { host: 'lb.example', cookie } });
        assert.equal(moved.statusCode, 200);
        assert.notEqual(JSON.parse(await moved.body.text()).backend, pinnedTo);
        assert.ok(moved.headers['set-cookie'], 're-pinned with a new cookie');
      },
    );
  });

  it('cookie affinity lives from the last use: re-set after a quarter of the TTL, not honoured past it', async () => {
    const bs = await backends(3);
    await withService(
      bs,
      { affinity: { type: 'cookie', secret: 'a-shared-secret-of-some-length', ttlSeconds: 4 } },
      async (proxy) => {
        const get = async (cookie?: string) => {
          const res = await request(`${proxy.url}/`, {
            headers: cookie === undefined ? { host: 'lb.example' } : { host: 'lb.example', cookie },
          });
          const backend = JSON.parse(await res.body.text()).backend as string;
          const set = res.headers['set-cookie'];
          return { backend, cookie: set === undefined ? undefined : String(set).split(';')[0]! };
        };
        const first = await get();
        const pinned = first.cookie!;
        assert.equal((await get(pinned)).cookie, undefined, 'a fresh cookie is not re-set');
        await new Promise((r) => setTimeout(r, 2_100)); // over a quarter of 4 s, on whole seconds
        const refreshed = await get(pinned);
        assert.equal(refreshed.backend, first.backend, 'the same endpoint');
        assert.ok(refreshed.cookie !== undefined && refreshed.cookie !== pinned, 'the cookie is re-set');
        assert.equal(refreshed.cookie!.split('.')[0], pinned.split('.')[0], 'for the same endpoint');
        await new Promise((r) => setTimeout(r, 3_000)); // the first cookie is now past its 4 s
        const expired = await get(pinned);
        assert.ok(expired.cookie !== undefined, 'an expired cookie is replaced');
        assert.equal((await get(refreshed.cookie)).backend, first.backend, 'the refreshed one still pins');
      },
    );
  });

  it('client-ip affinity pins across 1,000 requests and re-pins when the endpoint is ejected', async () => {
    const bs = await backends(3);
    await withService(
      bs,
      { affinity: { type: 'client-ip' }, outlierDetection: { consecutiveFailures: 1 } },
      async (proxy) => {
        const c = counts((await load(proxy.url, 1_000, 8)).served);
        assert.equal(Object.keys(c).length, 1, JSON.stringify(c));
        const pinnedTo = Object.keys(c)[0]!;
        await bs.find((b) => b.name === pinnedTo)!.close();
        const after = counts((await load(proxy.url, 200, 4)).served);
        assert.equal(Object.keys(after).length, 1, JSON.stringify(after));
        assert.notEqual(Object.keys(after)[0], pinnedTo);
      },
    );
  });

  it('killing an endpoint under a steady loop fails at most its in-flight requests, none after', async () => {
    const bs = await backends(3, (_req, res, backend) =>
      setTimeout(() => res.end(JSON.stringify({ backend: backend.name })), 5),
    );
    await withService(bs, {}, async (proxy) => {
      const pool = new Pool(proxy.url, { connections: 6 });
      const outcomes: { at: number; ok: boolean }[] = [];
      let killedAt = 0;
      const end = Date.now() + 2_500;
      const workers = Array.from({ length: 6 }, async () => {
        while (Date.now() < end) {
          const res = await pool
            .request({ path: '/', method: 'GET', headers: { host: 'lb.example' } })
            .catch(() => undefined);
          const ok = res !== undefined && res.statusCode === 200;
          if (res) await res.body.text();
          outcomes.push({ at: Date.now(), ok });
        }
      });
      setTimeout(() => {
        killedAt = Date.now();
        void bs[1]!.close();
      }, 800);
      await Promise.all(workers);
      await pool.close();
      const failed = outcomes.filter((o) => !o.ok);
      assert.ok(failed.length <= 6, `${failed.length} failed of ${outcomes.length}`);
      assert.deepEqual(
        failed.filter((o) => o.at > killedAt + 500),
        [],
        'no failure after the kill settled',
      );
    });
  });

  it('active health checks take an endpoint out and bring it back after healthyThreshold passes', async () => {
    let healthy = true;
    const flaky = await startBackend('flaky', (req, res) => {
      if (req.url === '/healthz') res.statusCode = healthy ? 200 : 503;
      res.end(JSON.stringify({ backend: 'flaky' }));
    });
    const steady = await startBackend('steady');
    const check = {
      type: 'http',
      path: '/healthz',
      intervalMs: 100,
      jitterMs: 0,
      timeoutMs: 500,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    };
    await withService([flaky, steady], { healthCheck: check, panicThresholdPercent: 0 }, async (proxy) => {
      healthy = false;
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.deepEqual(counts((await load(proxy.url, 100, 4)).served), { steady: 100 });
      healthy = true;
      await new Promise((resolve) => setTimeout(resolve, 600));
      const c = counts((await load(proxy.url, 100, 4)).served);
      assert.ok((c['flaky'] ?? 0) >= 40, `revived endpoint back in rotation: ${JSON.stringify(c)}`);
    });
  });

  it('endpoint conditions: never not-ready; serving-and-terminating only when none is ready', async () => {
    const [ready, terminating, notReady] = await backends(3);
    const ep = (b: Backend, e: Record<string, boolean>) => ({ address: '127.0.0.1', port: b.port, ...e });
    const proxy = await startProxy({
      routes: [
        { host: 'mixed.example', paths: [{ path: '/', service: 'mixed' }] },
        { host: 'draining.example', paths: [{ path: '/', service: 'draining' }] },
      ],
      services: [
        {
          name: 'mixed',
          endpoints: [
            ep(ready!, {}),
            ep(terminating!, { ready: false, serving: true, terminating: true }),
            ep(notReady!, { ready: false }),
          ],
        },
        {
          name: 'draining',
          endpoints: [
            ep(terminating!, { ready: false, serving: true, terminating: true }),
            ep(notReady!, { ready: false }),
          ],
        },
      ],
    });
    try {
      const pool = new Pool(proxy.url, { connections: 2 });
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) {
        for (const host of ['mixed.example', 'draining.example']) {
          const res = await pool.request({ path: '/', method: 'GET', headers: { host } });
          seen.add(`${host}:${JSON.parse(await res.body.text()).backend}`);
        }
      }
      await pool.close();
      assert.deepEqual([...seen].sort(), ['draining.example:b1', 'mixed.example:b0']);
    } finally {
      await proxy.close();
      await Promise.all([ready!, terminating!, notReady!].map((b) => b.close()));
    }
  });

  it('retries an idempotent request on another endpoint when configured, never a POST', async () => {
    const resetting = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const good = await startBackend('good');
    const proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 's' }] }],
      services: [
        {
          name: 's',
          endpoints: [
            { address: '127.0.0.1', port: (resetting.address() as AddressInfo).port },
            { address: '127.0.0.1', port: good.port },
          ],
          retries: { attempts: 1 },
          outlierDetection: { consecutiveFailures: 0 },
        },
      ],
    });
    try {
      for (let i = 0; i < 6; i++) {
        const res = await request(`${proxy.url}/`, { headers: { host: 'r.example' } });
        assert.equal(res.statusCode, 200);
        await res.body.text();
      }
      const posts = await Promise.all(
        Array.from({ length: 6 }, async () => {
          const res = await request(`${proxy.url}/`, {
            method: 'POST',
            body: 'x',
            headers: { host: 'r.example' },
          });
          await res.body.text();
          return res.statusCode;
        }),
      );
      assert.ok(posts.includes(502), 'a POST that met the resetting endpoint was not retried');
    } finally {
      await proxy.close();
      resetting.close();
      await good.close();
    }
  });

  it('a route may set its own retries: the same resetting endpoint is retried for one route, not another', async () => {
    const resetting = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const good = await startBackend('good');
    const proxy = await startProxy({
      routes: [
        { host: 'retried.example', paths: [{ path: '/', service: 's' }], retries: { attempts: 1 } },
        { host: 'plain.example', paths: [{ path: '/', service: 's' }] },
      ],
      services: [
        {
          name: 's',
          balancer: 'round-robin',
          endpoints: [
            { address: '127.0.0.1', port: (resetting.address() as AddressInfo).port },
            { address: '127.0.0.1', port: good.port },
          ],
          outlierDetection: { consecutiveFailures: 0 },
        },
      ],
    });
    const statuses = async (host: string) => {
      const out: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await request(`${proxy.url}/`, { headers: { host } });
        await res.body.text();
        out.push(res.statusCode);
      }
      return out;
    };
    try {
      assert.deepEqual(await statuses('retried.example'), [200, 200, 200, 200, 200, 200]);
      assert.ok((await statuses('plain.example')).includes(502), 'the service itself does not retry');
    } finally {
      await proxy.close();
      resetting.close();
      await good.close();
    }
  });

  it('maxPendingRequests answers 503 beyond the limit', async () => {
    const bs = await backends(1, (_req, res, backend) =>
      setTimeout(() => res.end(JSON.stringify({ backend: backend.name })), 200),
    );
    await withService(bs, { maxPendingRequests: 2 }, async (proxy) => {
      const { statuses } = await load(proxy.url, 6, 6);
      assert.equal(statuses.filter((s) => s === 200).length, 2);
      assert.equal(statuses.filter((s) => s === 503).length, 4);
    });
  });

  it('panic threshold: with too few healthy endpoints, all of them take traffic', async () => {
    const bs = await backends(4, (req, res, backend) => {
      if (req.url === '/healthz') res.statusCode = backend.name === 'b0' ? 200 : 503;
      res.end(JSON.stringify({ backend: backend.name }));
    });
    const check = { type: 'http', path: '/healthz', intervalMs: 100, jitterMs: 0, unhealthyThreshold: 1 };
    await withService(bs, { healthCheck: check }, async (proxy) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const c = counts((await load(proxy.url, 200, 4)).served);
      assert.equal(
        Object.keys(c).length,
        4,
        `1 of 4 healthy is under 50%: balance over all (${JSON.stringify(c)})`,
      );
    });
  });
});
