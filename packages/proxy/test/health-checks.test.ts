import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCert } from './helpers/tls-certs.ts';

/**
 * BLACKHOLE is a listening socket on 127.0.0.1 whose accept queue is full, so the kernel drops further
 * SYNs: a connect to it hangs, as to a blackholed host (no RST, no answer). Python, since Node accepts
 * every connection it can.
 */
const BLACKHOLE = `
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
held = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
    held.append(c)
print(port, flush=True)
time.sleep(60)
`;

async function startBlackhole(): Promise<{ port: number; process: ChildProcess }> {
  const child = spawn('python3', ['-c', BLACKHOLE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('error', reject);
  });
  return { port, process: child };
}

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
  let blackhole: { port: number; process: ChildProcess };
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
    blackhole.process.kill();
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
});
