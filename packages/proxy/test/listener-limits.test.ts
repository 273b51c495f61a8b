import assert from 'node:assert/strict';
import { constants, connect as h2connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCert } from './helpers/tls-certs.ts';

/** openSocket connects to `port` and resolves with the socket and whether the proxy closed it at once. */
async function connectAndWatch(port: number): Promise<{ socket: Socket; closedAtOnce: boolean }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const closedAtOnce = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 150);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  return { socket, closedAtOnce };
}

/** resetStreams opens `count` streams on a new h2c session, then cancels them; resolves with the GOAWAY code, if any. */
async function resetStreams(port: number, count: number): Promise<number | undefined> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  let goaway: number | undefined;
  session.on('goaway', (code: number) => {
    goaway = code;
  });
  await new Promise((resolve) => {
    session.once('connect', resolve);
    session.once('close', resolve);
  });
  const streams = [];
  for (let i = 0; i < count && !session.destroyed && !session.closed; i++) {
    const stream = session.request({ ':path': '/slow' }, { endStream: true });
    stream.on('error', () => {});
    streams.push(stream);
  }
  await new Promise((r) => setTimeout(r, 30)); // the proxy has them all, then the client cancels them
  for (const stream of streams) stream.close(constants.NGHTTP2_CANCEL);
  await new Promise((r) => setTimeout(r, 50));
  session.destroy();
  return goaway;
}

describe('per-source limits on a listener', () => {
  let backend: Backend;
  let proxy: TestProxy;

  before(async () => {
    backend = await startBackend('b', (req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 500);
      else res.end('b');
    });
    proxy = await startProxy({
      listeners: [
        {
          name: 'edge',
          address: '127.0.0.1',
          port: 0,
          h2c: true,
          perSource: { newConnectionsPerSecond: 5, resetStreamsPerSecond: 100 },
        },
      ],
      routes: [{ paths: [{ path: '/', service: 'b' }] }],
      services: [{ name: 'b', endpoints: endpointsOf(backend) }],
      limits: { http2MaxResetsPerSecond: 1_000 },
    });
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it('closes a source’s connections beyond newConnectionsPerSecond at accept, then admits it again', async () => {
    await new Promise((r) => setTimeout(r, 1_100)); // a full budget
    const refusedBefore = proxy.proxy.listenerCounters().get('edge')!.refused;
    const results = await Promise.all(Array.from({ length: 7 }, () => connectAndWatch(proxy.port)));
    const closed = results.filter((r) => r.closedAtOnce).length;
    for (const r of results) r.socket.destroy();
    assert.equal(closed, 2, 'with a budget of 5 a second, 2 of 7 are closed at accept');
    assert.equal(proxy.proxy.listenerCounters().get('edge')!.refused - refusedBefore, closed);
    await new Promise((r) => setTimeout(r, 1_100));
    const again = await connectAndWatch(proxy.port);
    again.socket.destroy();
    assert.equal(again.closedAtOnce, false, 'the budget refilled');
  });

  it('counts cancelled streams over all of a source’s sessions: beyond the budget GOAWAY, then refusal', async () => {
    await new Promise((r) => setTimeout(r, 1_100));
    // Each session stays under the per-session limits (Portico's 1,000/s, and Node's own for a burst);
    // together they pass the source's 100/s.
    // The budget refills while the sessions run (more so on a loaded machine), so the session that
    // crosses it is the third or a later one; never one of the first two (80 resets < 100).
    assert.equal(await resetStreams(proxy.port, 40), undefined);
    assert.equal(await resetStreams(proxy.port, 40), undefined);
    let goaway: number | undefined;
    let sessions = 2;
    while (goaway === undefined && sessions < 10) {
      goaway = await resetStreams(proxy.port, 40);
      sessions++;
    }
    assert.equal(goaway, constants.NGHTTP2_ENHANCE_YOUR_CALM, `no GOAWAY after ${sessions} sessions`);
    const refused = await connectAndWatch(proxy.port);
    refused.socket.destroy();
    assert.equal(refused.closedAtOnce, true, 'a source over its reset budget cannot reconnect at once');
    await new Promise((r) => setTimeout(r, 1_100));
    const admitted = await connectAndWatch(proxy.port);
    admitted.socket.destroy();
    assert.equal(admitted.closedAtOnce, false, 'the reset budget refilled');
  });
});

describe('TLS handshakes in progress are capped per listener', () => {
  let backend: Backend;
  let proxy: TestProxy;
  const cert = makeCert(['shop.example']);

  before(async () => {
    backend = await startBackend('b');
    proxy = await startProxy({
      listeners: [
        { name: 'tls', address: '127.0.0.1', port: 0, protocol: 'https', maxConcurrentHandshakes: 1 },
      ],
      certificates: [{ name: 'shop', cert: cert.cert, key: cert.key }],
      routes: [{ paths: [{ path: '/', service: 'b' }] }],
      services: [{ name: 'b', endpoints: endpointsOf(backend) }],
    });
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  /** handshake resolves with how long a TLS handshake to the proxy took (ms), or -1 if it failed. */
  function handshake(): Promise<number> {
    const started = Date.now();
    return new Promise((resolve) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: proxy.port,
        servername: 'shop.example',
        ca: cert.cert,
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(Date.now() - started);
      });
      socket.once('error', () => resolve(-1));
    });
  }

  it('a connection beyond the cap waits, unread, until a handshake slot frees', async () => {
    assert.ok((await handshake()) >= 0, 'a handshake on an idle listener');
    await new Promise((r) => setTimeout(r, 50)); // the server side of that handshake is done too
    const stalled = netConnect({ host: '127.0.0.1', port: proxy.port }); // takes the only slot, sends nothing
    stalled.on('error', () => {});
    await new Promise((resolve) => stalled.once('connect', resolve));
    await new Promise((r) => setTimeout(r, 20));
    const tookWhileHeld = await handshake();
    stalled.destroy();
    // The stalled peer holds the slot for at most 250 ms: its CPU cost is paid when a ClientHello arrives.
    assert.ok(tookWhileHeld >= 150 && tookWhileHeld < 1_000, `waited ${tookWhileHeld} ms for the slot`);
    const took = await handshake();
    assert.ok(took >= 0 && took < 150, `a free slot serves at once (${took} ms)`);
  });
});
