import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { RawClient } from './helpers/raw-client.ts';
import { ScriptedBackend } from './helpers/scripted-backend.ts';
import { startProxy } from './helpers/start-proxy.ts';

async function withProxy(
  reply: Parameters<typeof ScriptedBackend.start>[0],
  extra: Record<string, unknown>,
  run: (port: number, backend: ScriptedBackend) => Promise<void>,
) {
  const backend = await ScriptedBackend.start(reply);
  const proxy = await startProxy({
    routes: [{ paths: [{ path: '/', service: 's' }], ...(extra['route'] as object) }],
    services: [{ name: 's', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    ...(extra['config'] as object),
  });
  try {
    await run(proxy.port, backend);
  } finally {
    await proxy.close();
    await backend.close();
  }
}

describe('timeouts', () => {
  it('closes a slowloris client with 408 within the head timeout plus a second, forwarding nothing', async () => {
    await withProxy(
      () => {},
      { config: { timeouts: { clientHeadMs: 500 } } },
      async (port, backend) => {
        const client = await RawClient.open(port);
        const started = Date.now();
        client.write('GET / HTTP/1.1\r\nHost: a\r\n');
        const timer = setInterval(() => client.write('X-Slow: 1\r\n'), 100); // trickles, never finishes
        try {
          const text = await client.waitForClose(3_000);
          const elapsed = Date.now() - started;
          assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
          assert.ok(elapsed >= 450 && elapsed < 1_500, `closed after ${elapsed} ms`);
          assert.deepEqual(backend.heads, []);
        } finally {
          clearInterval(timer);
        }
      },
    );
  });

  it('closes an idle keep-alive connection after clientIdleMs', async () => {
    await withProxy(
      () => {},
      { config: { timeouts: { clientIdleMs: 300 } } },
      async (port) => {
        const client = await RawClient.open(port);
        const started = Date.now();
        const text = await client.waitForClose(2_000);
        assert.equal(text, '', 'an idle connection is closed silently');
        assert.ok(Date.now() - started < 1_000);
      },
    );
  });

  it('answers 504 when the upstream sends no response head within upstreamResponseHeadMs (per route)', async () => {
    await withProxy(
      () => {},
      { route: { timeouts: { upstreamResponseHeadMs: 300 } } },
      async (port) => {
        const client = await RawClient.open(port);
        client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
        const started = Date.now();
        const text = await client.waitForClose(3_000);
        assert.match(text, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
        assert.ok(Date.now() - started < 1_000);
      },
    );
  });

  it('answers 408 when a request body stalls longer than clientBodyIdleMs', async () => {
    await withProxy(
      () => {},
      { config: { timeouts: { clientBodyIdleMs: 300 } } },
      async (port) => {
        const client = await RawClient.open(port);
        client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
        const text = await client.waitForClose(3_000);
        assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      },
    );
  });

  it('closes the client when a response stalls mid-body longer than upstreamIdleMs', async () => {
    await withProxy(
      (_head, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial'),
      { route: { timeouts: { upstreamIdleMs: 300 } } },
      async (port) => {
        const client = await RawClient.open(port);
        client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
        const started = Date.now();
        const text = await client.waitForClose(3_000);
        assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*partial$/);
        assert.ok(Date.now() - started < 1_500);
      },
    );
  });

  it('tries the next endpoint when a connect times out (a blackholed port), within upstreamConnectMs', async () => {
    const backend = await ScriptedBackend.start((_h, socket) =>
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    );
    // A listener that never accepts, with its accept queue filled, drops new SYNs: connects hang.
    const hole = spawn('python3', ['-c', BLACKHOLE], { stdio: ['ignore', 'pipe', 'inherit'] });
    const holePort = await new Promise<number>((resolve) =>
      hole.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    const fillers = Array.from({ length: 4 }, () =>
      connect({ host: '127.0.0.1', port: holePort }).on('error', () => {}),
    );
    const proxy = await startProxy({
      timeouts: { upstreamConnectMs: 300 },
      routes: [{ paths: [{ path: '/', service: 's' }] }],
      services: [
        {
          name: 's',
          endpoints: [
            { address: '127.0.0.1', port: holePort },
            { address: '127.0.0.1', port: backend.port },
          ],
        },
      ],
    });
    try {
      let slow = 0;
      for (let i = 0; i < 4; i++) {
        const client = await RawClient.open(proxy.port);
        const started = Date.now();
        client.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
        const text = await client.waitForClose(3_000);
        assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
        const elapsed = Date.now() - started;
        assert.ok(elapsed < 1_000, `request took ${elapsed} ms`);
        if (elapsed >= 250) slow++;
      }
      assert.ok(slow >= 1, 'round robin sent some requests to the blackhole first');
    } finally {
      for (const f of fillers) f.destroy();
      hole.kill();
      await proxy.close();
      await backend.close();
    }
  });
});

/** BLACKHOLE listens with a backlog of 0 and never accepts; it prints its port. */
const BLACKHOLE = `
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
print(s.getsockname()[1], flush=True)
time.sleep(60)
`;
