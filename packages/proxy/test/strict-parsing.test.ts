import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawClient } from './helpers/raw-client.ts';
import { RecordingBackend } from './helpers/recording-backend.ts';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';

/**
 * Ambiguous or malformed requests (RFC 9112) are answered by Portico with the listed status and the
 * connection closed, and not one byte reaches the backend.
 */
const REJECTED: [string, string, number][] = [
  [
    'Content-Length with Transfer-Encoding',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
  ],
  [
    'conflicting Content-Length values',
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    400,
  ],
  ['Content-Length that is not digits', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc', 400],
  [
    'Transfer-Encoding other than chunked',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n',
    400,
  ],
  ['chunked not last', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 400],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n', 400],
  ['whitespace before the colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400],
  ['bare LF line endings', 'GET / HTTP/1.1\nHost: a\n\n', 400],
  ['bare CR in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n', 400],
  ['NUL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u0000c\r\n\r\n', 400],
  ['two Host fields', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  ['a Host list', 'GET / HTTP/1.1\r\nHost: a, b\r\n\r\n', 400],
  ['userinfo in Host', 'GET / HTTP/1.1\r\nHost: user@a\r\n\r\n', 400],
  ['a Host port over 65535', 'GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n', 400],
  ['a Host port of six digits', 'GET / HTTP/1.1\r\nHost: a:080800\r\n\r\n', 400],
  ['a Host port with a letter', 'GET / HTTP/1.1\r\nHost: a:80a\r\n\r\n', 400],
  ['an empty Host port', 'GET / HTTP/1.1\r\nHost: a:\r\n\r\n', 400],
  ['a Host port with a sign', 'GET / HTTP/1.1\r\nHost: a:+80\r\n\r\n', 400],
  ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\nX-A: b\r\n\r\n', 400],
  ['absolute-form disagreeing with Host', 'GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['asterisk-form for GET', 'GET * HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['CONNECT', 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', 405],
  ['HTTP/2.0 on an HTTP/1 connection', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505],
  [
    'a malformed chunk size',
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    400,
  ],
];

describe('strict request parsing', () => {
  let backend: RecordingBackend;
  let proxy: TestProxy;

  before(async () => {
    backend = await RecordingBackend.start();
    proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 'rec' }] }],
      services: [{ name: 'rec', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    });
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  for (const [label, raw, status] of REJECTED) {
    it(`rejects ${label} with ${status} and closes, forwarding nothing`, async () => {
      backend.received = '';
      const client = await RawClient.open(proxy.port);
      client.write(raw);
      const text = await client.waitForClose();
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(text, /\r\nconnection: close\r\n/);
      assert.equal(backend.received, '');
    });
  }

  it('forwards a valid chunked request with its framing re-emitted', async () => {
    backend.received = '';
    const client = await RawClient.open(proxy.port);
    client.write(
      'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    await client.waitForClose();
    assert.match(backend.received, /^POST \/c HTTP\/1\.1\r\nHost: a\r\n/);
    assert.match(backend.received, /\r\ntransfer-encoding: chunked\r\n/);
    assert.ok(backend.received.endsWith('\r\n\r\n3\r\nabc\r\n0\r\n\r\n'));
  });

  it('answers 431 to a head over the limit and 414 to a request line over the limit', async () => {
    const big = await RawClient.open(proxy.port);
    big.write(`GET / HTTP/1.1\r\nHost: a\r\n${'X-Pad: y\r\n'.repeat(4_000)}\r\n`);
    assert.match(await big.waitForClose(), /^HTTP\/1\.1 431 /);
    const long = await RawClient.open(proxy.port);
    long.write(`GET /${'a'.repeat(10_000)} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.match(await long.waitForClose(), /^HTTP\/1\.1 414 /);
  });
});
