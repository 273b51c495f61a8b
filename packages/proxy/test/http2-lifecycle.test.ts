import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ScriptedBackend } from './helpers/scripted-backend.ts';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';

/** socketsOn counts the TCP sockets bound to local `port` (the proxy's side) in `state` (e.g. close-wait). */
function socketsOn(port: number, state: string): number {
  const out = execFileSync('ss', ['-Htn', 'state', state, `( sport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

async function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

describe('HTTP/2 and h2c connection lifecycle', () => {
  let backend: ScriptedBackend;
  let proxy: TestProxy;

  before(async () => {
    backend = await ScriptedBackend.start((head, socket: Socket) => {
      if (head.startsWith('GET /reset')) {
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n${'x'.repeat(1_000)}`);
        setTimeout(() => socket.destroy(), 50);
        return;
      }
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    proxy = await startProxy({
      listeners: [{ name: 'h2c', address: '127.0.0.1', port: 0, h2c: true }],
      routes: [{ paths: [{ path: '/', service: 'b' }] }],
      services: [{ name: 'b', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
      timeouts: { clientHeadMs: 500, clientIdleMs: 60_000 },
    });
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it('an h2c connection closed before its first byte is released at once', async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const socket = connect({ host: '127.0.0.1', port: proxy.port });
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      sockets.push(socket);
    }
    const started = Date.now();
    const closed = sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    for (const socket of sockets) socket.end(); // FIN before any byte
    await Promise.all(closed); // the proxy closed its side too (a client socket closes on both FINs)
    const took = Date.now() - started;
    assert.ok(took < 1_000, `released after ${took} ms`);
    assert.equal(socketsOn(proxy.port, 'close-wait'), 0, 'no CLOSE-WAIT left');
  });

  it('an h2c connection that sends nothing is closed after the head timeout', async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => {});
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    const took = Date.now() - started;
    assert.ok(took >= 400 && took < 1_500, `closed after ${took} ms (clientHeadMs 500)`);
  });

  it('a response the upstream cuts short reaches an HTTP/2 client as RST_STREAM, not a clean end', async () => {
    const session = h2connect(`http://127.0.0.1:${proxy.port}`);
    try {
      const stream = session.request({ ':path': '/reset' }, { endStream: true });
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      const outcome = await new Promise<string>((resolve) => {
        stream.once('end', () => resolve('clean end'));
        stream.once('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
        stream.once('close', () => resolve(`closed with ${stream.rstCode}`));
      });
      assert.ok(bytes < 100_000);
      assert.notEqual(outcome, 'clean end');
      assert.equal(stream.rstCode, constants.NGHTTP2_INTERNAL_ERROR);
    } finally {
      session.destroy();
    }
  });

  it('a client that closes its HTTP/2 connection (FIN) leaves no socket in CLOSE-WAIT', async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    const session = h2connect(`http://127.0.0.1:${proxy.port}`, { createConnection: () => socket });
    const stream = session.request({ ':path': '/' }, { endStream: true });
    stream.resume();
    await new Promise((resolve) => stream.once('end', resolve));
    socket.end(); // FIN without GOAWAY, as a client that goes away does
    const took = await until(() => socketsOn(proxy.port, 'close-wait') === 0, 'the session released', 2_000);
    assert.ok(took < 1_000, `released after ${took} ms`);
    session.destroy();
  });

  it('streams the client resets at once cost no upstream connection each', async () => {
    const created = proxy.proxy.pool.created;
    const session = h2connect(`http://127.0.0.1:${proxy.port}`);
    await new Promise((resolve) => session.once('connect', resolve));
    for (let i = 0; i < 100; i++) {
      const stream = session.request({ ':path': '/' }, { endStream: true });
      stream.on('error', () => {});
      stream.close(constants.NGHTTP2_CANCEL);
    }
    await new Promise((r) => setTimeout(r, 300));
    const check = session.request({ ':path': '/' }, { endStream: true });
    check.resume();
    await new Promise((resolve) => check.once('end', resolve));
    session.destroy();
    const connects = proxy.proxy.pool.created - created;
    assert.ok(connects <= 10, `100 reset streams cost ${connects} upstream connections`);
  });

  it('a client GOAWAY releases the session once its streams are done', async () => {
    await until(() => proxy.proxy.connectionCount === 0, 'earlier connections closed');
    const session = h2connect(`http://127.0.0.1:${proxy.port}`);
    const stream = session.request({ ':path': '/' }, { endStream: true });
    stream.resume();
    await new Promise((resolve) => stream.once('end', resolve));
    assert.equal(proxy.proxy.connectionCount, 1);
    session.goaway(constants.NGHTTP2_NO_ERROR);
    await until(() => proxy.proxy.connectionCount === 0, 'the session released', 2_000);
    session.destroy();
  });
});
