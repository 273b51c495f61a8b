import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { REQUEST_CHANNEL, type RequestOutcome } from '@portico/proxy';
import { RawClient } from './helpers/raw-client.ts';
import { ScriptedBackend } from './helpers/scripted-backend.ts';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';

/** Every exchange is accounted for, and a request that can no longer complete ends at once. */
describe('client aborts and cut-short exchanges', () => {
  let backend: ScriptedBackend;
  let proxy: TestProxy;
  const outcomes: RequestOutcome[] = [];
  const upstreamClosed: string[] = [];
  const onOutcome = (m: unknown) => outcomes.push(m as RequestOutcome);

  before(async () => {
    backend = await ScriptedBackend.start((head, socket: Socket) => {
      const path = head.split(' ')[1]!;
      socket.once('close', () => upstreamClosed.push(path));
      if (path === '/upload') return; // waits for a body that never completes
      if (path === '/slow')
        setTimeout(() => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), 300);
      if (path === '/stuck')
        setTimeout(() => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), 5_000).unref();
      if (path === '/next') socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      if (path === '/truncated') {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part');
        setTimeout(() => socket.destroy(), 50);
      }
      if (path === '/big')
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 10000000\r\n\r\n${'x'.repeat(65_536)}`);
    });
    proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 'b' }], name: 'r' }],
      services: [{ name: 'b', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    });
    subscribe(REQUEST_CHANNEL, onOutcome);
  });
  after(async () => {
    unsubscribe(REQUEST_CHANNEL, onOutcome);
    await proxy.close();
    await backend.close();
  });

  async function outcomeFor(path: string, timeoutMs = 2_000): Promise<RequestOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = outcomes.find((o) => o.path === path);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no outcome for ${path}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function until(check: () => boolean, what: string, timeoutMs = 1_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('a client that half-closes mid-body ends the exchange at once: upstream destroyed, client closed, 499', async () => {
    const client = await RawClient.open(proxy.port);
    client.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
    await until(() => backend.heads.some((h) => h.startsWith('POST /upload')), 'the head upstream');
    const startedAt = Date.now();
    client.socket.end(); // FIN: the other 90 bytes can never come
    await client.waitForClose(1_000);
    await until(() => upstreamClosed.includes('/upload'), 'the upstream connection to close');
    assert.ok(Date.now() - startedAt < 1_000, 'not after the 60 s body-idle timeout');
    const outcome = await outcomeFor('/upload');
    assert.equal(outcome.status, 499);
    assert.equal(outcome.errorCode, 'PORTICO_CLIENT_ABORTED');
    assert.equal(outcome.phase, 'request-body');
    assert.equal(outcome.requestBytes, 10);
  });

  it('a client that resets while waiting for the response head is a 499 in phase response-head', async () => {
    const client = await RawClient.open(proxy.port);
    client.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => backend.heads.some((h) => h.startsWith('GET /slow')), 'the head upstream');
    client.socket.resetAndDestroy();
    const outcome = await outcomeFor('/slow');
    assert.deepEqual([outcome.status, outcome.phase, outcome.route], [499, 'response-head', 'r']);
    // The request was sent in full: its short response is read and thrown away, and the connection pooled.
    const reused = proxy.proxy.pool.reused;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!upstreamClosed.includes('/slow'), 'the upstream connection is kept');
    const next = await RawClient.open(proxy.port);
    next.write('GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.match(await next.waitForClose(), /^HTTP\/1\.1 200/);
    assert.equal(proxy.proxy.pool.reused, reused + 1, 'the next request went out on it');
  });

  it('an abandoned response that does not come within 2 s closes its upstream connection', async () => {
    const client = await RawClient.open(proxy.port);
    client.write('GET /stuck HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => backend.heads.some((h) => h.startsWith('GET /stuck')), 'the head upstream');
    const startedAt = Date.now();
    client.socket.resetAndDestroy();
    await until(() => upstreamClosed.includes('/stuck'), 'the upstream connection to close', 3_000);
    const took = Date.now() - startedAt;
    assert.ok(took >= 1_900 && took < 2_800, `closed after ${took} ms`);
  });

  it('a client that goes away mid-response is a 499 in phase response-body', async () => {
    const client = await RawClient.open(proxy.port);
    client.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitFor((t) => t.length > 1_000);
    client.socket.destroy();
    const outcome = await outcomeFor('/big');
    assert.deepEqual([outcome.status, outcome.phase], [499, 'response-body']);
  });

  it('an upstream that closes mid-response is reported under the status sent, with its error', async () => {
    const client = await RawClient.open(proxy.port);
    client.write('GET /truncated HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.waitForClose();
    const outcome = await outcomeFor('/truncated');
    assert.deepEqual(
      [outcome.status, outcome.errorCode, outcome.phase],
      [200, 'PORTICO_UPSTREAM_RESET', 'response-body'],
    );
  });

  it('a complete exchange says so', async () => {
    outcomes.length = 0;
    const client = await RawClient.open(proxy.port);
    client.write('GET /slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await client.waitForClose(4_000);
    const outcome = await outcomeFor('/slow', 4_000);
    assert.deepEqual([outcome.status, outcome.phase, outcome.errorCode], [200, 'complete', undefined]);
  });
});
