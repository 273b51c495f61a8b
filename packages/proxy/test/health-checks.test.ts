import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Blackhole, startBlackhole } from './helpers/blackhole.ts';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCert } from './helpers/tls-certs.ts';

const CHECK = {
  type: 'http',
  path: '/healthz',
  intervalMs: 200,
  jitterMs: 0,
  timeoutMs: 300,
  healthyThreshold: 1,
  unhealthyThreshold: 2,
} as const;

describe('active health checks', () => {
  let blackhole: Blackhole;
  let tlsBackend: ReturnType<typeof createHttpsServer>;
  let tlsPort: number;

  before(async () => {
    blackhole = await startBlackhole();
    const cert = makeCert(['backend.internal']);
    tlsBackend = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) =>
      res.end(req.url === '/healthz' ? 'ok' : 'served over tls'),
    );
    await new Promise<void>((resolve) => tlsBackend.listen(0, '127.0.0.1', resolve));
    tlsPort = (tlsBackend.address() as AddressInfo).port;
  });
  after(async () => {
    blackhole.close();
    tlsBackend.closeAllConnections();
    await new Promise((resolve) => tlsBackend.close(resolve));
  });

  async function healthOf(proxy: TestProxy, port: number): Promise<boolean> {
    return proxy.proxy.endpoints().find((e) => e.port === port)!.healthy;
  }

  it('a blackholed endpoint is marked down after about unhealthyThreshold checks, timeoutMs covering the connect', async () => {
    const proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 'dark' }] }],
      services: [
        { name: 'dark', endpoints: [{ address: '127.0.0.1', port: blackhole.port }], healthCheck: CHECK },
      ],
    });
    try {
      const startedAt = Date.now();
      while ((await healthOf(proxy, blackhole.port)) && Date.now() - startedAt < 5_000)
        await new Promise((r) => setTimeout(r, 25));
      const took = Date.now() - startedAt;
      assert.equal(await healthOf(proxy, blackhole.port), false);
      // Two probes of 300 ms, 200 ms apart, plus the first probe's spread (< 200 ms).
      assert.ok(took < 1_500, `marked down after ${took} ms`);
    } finally {
      await proxy.close();
    }
  });

  it('a service whose endpoints speak TLS is probed over TLS with its settings', async () => {
    const proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 'secure' }] }],
      services: [
        {
          name: 'secure',
          endpoints: [{ address: '127.0.0.1', port: tlsPort }],
          tls: { verify: false },
          healthCheck: CHECK,
          panicThresholdPercent: 0,
        },
      ],
    });
    try {
      await new Promise((r) => setTimeout(r, 1_200)); // several probes
      assert.equal(await healthOf(proxy, tlsPort), true, 'the TLS endpoint passes its checks');
      const res = await request(`${proxy.url}/`);
      assert.equal(await res.body.text(), 'served over tls');
    } finally {
      await proxy.close();
    }
  });

  it('two services sharing a pod port keep their own health: one check failing takes down only its service', async () => {
    const pod = createServer((req, res) => {
      if (req.url === '/a-health') res.writeHead(503).end('down');
      else res.end(`served ${req.headers.host}`);
    });
    await new Promise<void>((resolve) => pod.listen(0, '127.0.0.1', resolve));
    const port = (pod.address() as AddressInfo).port;
    const proxy = await startProxy({
      routes: [
        { host: 'a.example', paths: [{ path: '/', service: 'a' }] },
        { host: 'b.example', paths: [{ path: '/', service: 'b' }] },
      ],
      services: [
        {
          name: 'a',
          endpoints: [{ address: '127.0.0.1', port }],
          healthCheck: { ...CHECK, path: '/a-health' },
          panicThresholdPercent: 0,
        },
        {
          name: 'b',
          endpoints: [{ address: '127.0.0.1', port }],
          healthCheck: { ...CHECK, path: '/b-health' },
        },
      ],
    });
    try {
      const stateOf = (service: string) => proxy.proxy.endpoints().find((e) => e.service === service)!;
      const startedAt = Date.now();
      while (stateOf('a').healthy && Date.now() - startedAt < 3_000)
        await new Promise((r) => setTimeout(r, 25));
      await new Promise((r) => setTimeout(r, 500)); // b's checks keep passing meanwhile
      assert.equal(stateOf('a').healthy, false);
      assert.equal(stateOf('b').healthy, true, "b's verdict is its own");
      const a = await request(`${proxy.url}/`, { headers: { host: 'a.example' } });
      await a.body.text();
      assert.equal(a.statusCode, 503);
      const b = await request(`${proxy.url}/`, { headers: { host: 'b.example' } });
      assert.equal(await b.body.text(), 'served b.example');
    } finally {
      await proxy.close();
      pod.closeAllConnections();
      await new Promise((resolve) => pod.close(resolve));
    }
  });
});
