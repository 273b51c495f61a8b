import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { RawClient } from './helpers/raw-client.ts';
import { ScriptedBackend } from './helpers/scripted-backend.ts';
import { startProxy } from './helpers/start-proxy.ts';

async function withProxy(
  reply: Parameters<typeof ScriptedBackend.start>[0],
  config: Record<string, unknown>,
  run: (port: number, backend: ScriptedBackend) => Promise<void>,
) {
  const backend = await ScriptedBackend.start(reply);
  const proxy = await startProxy({
    routes: [{ paths: [{ path: '/', service: 's' }] }],
    services: [{ name: 's', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    ...config,
  });
  try {
    await run(proxy.port, backend);
  } finally {
    await proxy.close();
    await backend.close();
  }
}

/** answerAfterBody answers 200 once the upload's `content-length` bytes have arrived. */
function answerAfterBody(head: string, socket: Socket): void {
  const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
  let seen = 0;
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen < length) return;
    socket.off('data', onData);
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndone');
  };
  socket.on('data', onData);
}

describe('slow and misbehaving peers', () => {
  it('an upstream head with bare-LF line endings is a 502 at once, not a timeout', async () => {
    await withProxy(
      (_head, socket) => socket.write('HTTP/1.1 200 OK\ncontent-length: 2\n\nok'),
      { timeouts: { upstreamResponseHeadMs: 5_000 } },
      async (port) => {
        const client = await RawClient.open(port);
        const started = Date.now();
        client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
        const text = await client.waitFor((t) => t.includes('\r\n\r\n'), 2_000);
        assert.match(text, /^HTTP\/1\.1 502 /);
        assert.ok(Date.now() - started < 1_000);
      },
    );
  });

  it('the response-head timeout starts when the request body has been sent', async () => {
    // A healthy upload that takes 3x upstreamResponseHeadMs still gets its answer.
    await withProxy(
      answerAfterBody,
      { timeouts: { upstreamResponseHeadMs: 300 }, limits: { minClientBodyBytesPerSecond: 0 } },
      async (port) => {
        const client = await RawClient.open(port);
        client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n');
        for (let i = 0; i < 10; i++) {
          await new Promise((r) => setTimeout(r, 100));
          client.write('x');
        }
        const text = await client.waitFor((t) => t.includes('\r\n\r\n'), 2_000);
        assert.match(text, /^HTTP\/1\.1 200 /);
      },
    );
  });

  it('the response-head timeout still fires once the body is sent', async () => {
    await withProxy(
      () => {},
      { timeouts: { upstreamResponseHeadMs: 300 } },
      async (port) => {
        const client = await RawClient.open(port);
        const started = Date.now();
        client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx');
        const text = await client.waitFor((t) => t.includes('\r\n\r\n'), 2_000);
        assert.match(text, /^HTTP\/1\.1 504 /);
        assert.ok(Date.now() - started < 1_000);
      },
    );
  });

  it('a body slower than minClientBodyBytesPerSecond after the grace period gets 408 and a close', async () => {
    await withProxy(
      answerAfterBody,
      { timeouts: { clientBodyRateGraceMs: 500 }, limits: { minClientBodyBytesPerSecond: 100 } },
      async (port, backend) => {
        const client = await RawClient.open(port);
        const started = Date.now();
        client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n');
        // 20 bytes every 500 ms: 40 B/s, a byte each time well within clientBodyIdleMs.
        const timer = setInterval(() => client.write('x'.repeat(20)), 500);
        try {
          const text = await client.waitForClose(3_000);
          assert.match(text, /^HTTP\/1\.1 408 /);
          const elapsed = Date.now() - started;
          assert.ok(elapsed >= 500 && elapsed < 2_000, `closed after ${elapsed} ms`);
          assert.equal(backend.heads.length, 1);
        } finally {
          clearInterval(timer);
        }
      },
    );
  });

  it('a body at the minimum rate passes, and the total body deadline stops one that trickles forever', async () => {
    await withProxy(
      answerAfterBody,
      {
        timeouts: { clientBodyRateGraceMs: 200, clientBodyMs: 1_200 },
        limits: { minClientBodyBytesPerSecond: 100 },
      },
      async (port) => {
        const fast = await RawClient.open(port);
        fast.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 60\r\n\r\n');
        for (let i = 0; i < 3; i++) {
          await new Promise((r) => setTimeout(r, 100));
          fast.write('x'.repeat(20)); // 200 B/s
        }
        assert.match(await fast.waitFor((t) => t.includes('\r\n\r\n'), 2_000), /^HTTP\/1\.1 200 /);

        const endless = await RawClient.open(port);
        const started = Date.now();
        endless.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n');
        const timer = setInterval(() => endless.write('x'.repeat(100)), 100); // 1,000 B/s: above the rate
        try {
          assert.match(await endless.waitForClose(3_000), /^HTTP\/1\.1 408 /);
          const elapsed = Date.now() - started;
          assert.ok(elapsed >= 1_100 && elapsed < 2_500, `closed after ${elapsed} ms`);
        } finally {
          clearInterval(timer);
        }
      },
    );
  });
});
