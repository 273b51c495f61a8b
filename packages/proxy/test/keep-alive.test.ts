import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { RawClient } from './helpers/raw-client.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

describe('keep-alive on both sides', () => {
  let a: Backend;
  let b: Backend;
  let proxy: TestProxy;

  before(async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    proxy = await startProxy({
      routes: [{ host: 'ka.example', paths: [{ path: '/', service: 'pair' }] }],
      services: [{ name: 'pair', endpoints: endpointsOf(a, b) }],
    });
  });
  after(async () => {
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('carries 100 sequential requests over one client connection and one upstream connection per backend', async () => {
    const client = new Pool(proxy.url, { connections: 1 });
    try {
      for (let i = 0; i < 100; i++) {
        const res = await client.request({
          path: `/n/${i}`,
          method: i % 2 ? 'GET' : 'POST',
          body: i % 2 ? null : 'body',
          headers: { host: 'ka.example' },
        });
        assert.equal(res.statusCode, 200);
        await res.body.text();
      }
    } finally {
      await client.close();
    }
    assert.equal(proxy.proxy.counters.connections, 1, 'one client connection');
    assert.equal(a.connections, 1, 'one upstream connection to a');
    assert.equal(b.connections, 1, 'one upstream connection to b');
    assert.equal(a.requests + b.requests, 100);
  });

  it('answers pipelined requests in order on one connection', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      let burst = '';
      for (let i = 0; i < 5; i++) burst += `GET /pipe/${i} HTTP/1.1\r\nHost: ka.example\r\n\r\n`;
      burst += 'POST /pipe/5 HTTP/1.1\r\nHost: ka.example\r\nContent-Length: 3\r\n\r\nabc';
      burst += 'GET /pipe/6 HTTP/1.1\r\nHost: ka.example\r\nConnection: close\r\n\r\n';
      client.write(burst);
      const text = await client.waitForClose();
      const urls = [...text.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(urls, ['/pipe/0', '/pipe/1', '/pipe/2', '/pipe/3', '/pipe/4', '/pipe/5', '/pipe/6']);
      assert.equal(client.countStatusLines(), 7);
      assert.match(text, /"bytes":3/);
    } finally {
      client.close();
    }
  });

  it('closes the client connection after a response when the client asked', async () => {
    const client = await RawClient.open(proxy.port);
    client.write('GET / HTTP/1.1\r\nHost: ka.example\r\nConnection: close\r\n\r\n');
    const text = await client.waitForClose();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\nconnection: close\r\n/i);
  });

  it('serves an HTTP/1.0 client and closes after the response', async () => {
    const client = await RawClient.open(proxy.port);
    client.write('GET /old HTTP/1.0\r\nHost: ka.example\r\n\r\n');
    const text = await client.waitForClose();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(text, /transfer-encoding/i);
    assert.match(text, /"url":"\/old"/);
  });
});
