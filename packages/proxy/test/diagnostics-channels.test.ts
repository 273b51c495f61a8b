import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect as h2connect } from 'node:http2';
import { type AddressInfo, connect, createServer } from 'node:net';
import { describe, it } from 'node:test';
import { parseConfig } from '@portico/config';
import {
  CONFIG_REFUSED_CHANNEL,
  REQUEST_CHANNEL,
  REQUEST_START_CHANNEL,
  type RequestOutcome,
  type RequestStart,
  TLS_ERROR_CHANNEL,
  type TlsClientError,
} from '@portico/proxy';
import { request } from 'undici';
import { startProxy } from './helpers/start-proxy.ts';
import { makeCert } from './helpers/tls-certs.ts';

/** collect subscribes to `name` for the test's length and returns what was published. */
function collect<T>(name: string): { messages: T[]; stop: () => void } {
  const messages: T[] = [];
  const on = (message: unknown) => messages.push(message as T);
  subscribe(name, on);
  return { messages, stop: () => unsubscribe(name, on) };
}

describe('diagnostics channels', () => {
  it('portico:http:request-start opens every exchange, HTTP/1.1 and HTTP/2 alike, before its outcome', async () => {
    const proxy = await startProxy({
      listeners: [{ name: 'edge', address: '127.0.0.1', port: 0, h2c: true }],
    });
    const starts = collect<RequestStart>(REQUEST_START_CHANNEL);
    const ends = collect<RequestOutcome>(REQUEST_CHANNEL);
    try {
      const res = await request(`${proxy.url}/one?q=1`, { headers: { host: 'a.example' } });
      await res.body.text(); // no routes: a 404, an exchange all the same
      const session = h2connect(proxy.url);
      const stream = session.request({ ':path': '/two', ':authority': 'b.example' }, { endStream: true });
      stream.resume();
      await new Promise((resolve) => stream.once('end', resolve));
      session.close();
      assert.deepEqual(
        starts.messages.map((s) => [s.listener, s.method, s.host, s.path, s.peer]),
        [
          ['edge', 'GET', 'a.example', '/one', '127.0.0.1'],
          ['edge', 'GET', 'b.example', '/two', '127.0.0.1'],
        ],
      );
      assert.deepEqual(
        ends.messages.map((e) => [e.path, e.status]),
        [
          ['/one', 404],
          ['/two', 404],
        ],
      );
    } finally {
      starts.stop();
      ends.stop();
      await proxy.close();
    }
  });

  it('portico:tls:error names the listener, the client and the error of a failed handshake', async () => {
    const cert = makeCert(['shop.example']);
    const proxy = await startProxy({
      listeners: [{ name: 'secure', address: '127.0.0.1', port: 0, protocol: 'https' }],
      certificates: [{ name: 'shop', cert: cert.cert, key: cert.key }],
    });
    const errors = collect<TlsClientError>(TLS_ERROR_CHANNEL);
    try {
      const socket = connect({ host: '127.0.0.1', port: proxy.port });
      socket.on('error', () => {});
      socket.write('GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n'); // plain HTTP to a TLS port
      await new Promise((resolve) => socket.once('close', resolve));
      assert.equal(errors.messages.length, 1);
      const [error] = errors.messages;
      assert.equal(error!.listener, 'secure');
      assert.equal(error!.client, '127.0.0.1');
      assert.match(error!.code, /^ERR_SSL_/);
    } finally {
      errors.stop();
      await proxy.close();
    }
  });

  it('portico:config:refused carries the code and message of a config apply refused', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const proxy = await startProxy({});
    const refused = collect<{ code: string; message: string }>(CONFIG_REFUSED_CHANNEL);
    try {
      const next = parseConfig({
        listeners: [
          { name: 'test', address: '127.0.0.1', port: 0 }, // as started: kept
          { name: 'clash', address: '127.0.0.1', port },
        ],
      });
      await assert.rejects(proxy.proxy.apply(next), { code: 'PORTICO_APPLY_FAILED' });
      assert.equal(refused.messages.length, 1);
      assert.equal(refused.messages[0]!.code, 'PORTICO_APPLY_FAILED');
      assert.match(refused.messages[0]!.message, /listener "clash" cannot bind/);
    } finally {
      refused.stop();
      await proxy.close();
      taken.close();
    }
  });
});
