import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawClient } from './helpers/raw-client.ts';
import { RecordingBackend } from './helpers/recording-backend.ts';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';

const CHUNKED = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';

/** Chunk extensions and trailers that break RFC 9112 7.1: 400, connection closed, nothing forwarded. */
const REJECTED_BODIES: [string, string][] = [
  ['an unterminated quoted chunk extension', `${CHUNKED}3;a="x\r\nabc\r\n0\r\n\r\n`],
  ['a chunk extension without a name', `${CHUNKED}3;=x\r\nabc\r\n0\r\n\r\n`],
  ['a chunk extension value that is not a token', `${CHUNKED}3;a=b"c\r\nabc\r\n0\r\n\r\n`],
  ['a chunk extension with a control character', `${CHUNKED}3;a=\u0001\r\nabc\r\n0\r\n\r\n`],
  ['a trailer line without a colon', `${CHUNKED}3\r\nabc\r\n0\r\nX-Trailer\r\n\r\n`],
  ['a trailer name with a space', `${CHUNKED}3\r\nabc\r\n0\r\nX Trailer: 1\r\n\r\n`],
  ['a Content-Length trailer', `${CHUNKED}3\r\nabc\r\n0\r\nContent-Length: 50\r\n\r\n`],
  ['a Transfer-Encoding trailer', `${CHUNKED}3\r\nabc\r\n0\r\ntransfer-encoding: chunked\r\n\r\n`],
  ['a Host trailer', `${CHUNKED}3\r\nabc\r\n0\r\nHost: evil\r\n\r\n`],
  ['a trailer value with NUL', `${CHUNKED}3\r\nabc\r\n0\r\nX-T: a\u0000b\r\n\r\n`],
  ['more trailers than the head limit leaves', `${CHUNKED}3\r\nabc\r\n0\r\n${'X-T: 1\r\n'.repeat(20)}\r\n`],
  [
    'a trailer section over the head size limit',
    `${CHUNKED}3\r\nabc\r\n0\r\nX-T: ${'a'.repeat(3_000)}\r\n\r\n`,
  ],
];

describe('framing hardening: chunk extensions, trailers, underscores', () => {
  let backend: RecordingBackend;
  let proxy: TestProxy;
  let strict: TestProxy;
  let lax: TestProxy;

  before(async () => {
    // Each upstream connection answers once: `connection: close` keeps Portico from pooling it.
    backend = await RecordingBackend.start(
      'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok',
    );
    const common = {
      routes: [{ paths: [{ path: '/', service: 'rec' }] }],
      services: [{ name: 'rec', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    };
    proxy = await startProxy({ ...common, limits: { maxHeaderCount: 20, maxHeadBytes: 2_048 } });
    strict = await startProxy({ ...common, requestParsing: { headersWithUnderscores: 'reject' } });
    lax = await startProxy({ ...common, requestParsing: { headersWithUnderscores: 'allow' } });
  });
  after(async () => {
    await proxy.close();
    await strict.close();
    await lax.close();
    await backend.close();
  });

  async function exchange(target: TestProxy, raw: string): Promise<string> {
    backend.received = '';
    const client = await RawClient.open(target.port);
    client.write(raw);
    return client.waitFor((text, closed) => closed || text.includes('\r\n\r\nok'));
  }

  for (const [label, raw] of REJECTED_BODIES) {
    it(`rejects ${label} with 400 and closes, forwarding nothing`, async () => {
      backend.received = '';
      const client = await RawClient.open(proxy.port);
      client.write(raw);
      const text = await client.waitForClose();
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.equal(backend.received, '');
    });
  }

  it('forwards valid chunk extensions and trailers exactly as sent', async () => {
    const body = '3;name=token;q="a \\"b\\" c" ; x\r\nabc\r\n0\r\nX-Checksum: abc\r\nGrpc-Status: 0\r\n\r\n';
    const text = await exchange(proxy, `${CHUNKED}${body}`);
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.ok(backend.received.endsWith(`\r\n\r\n${body}`), JSON.stringify(backend.received));
  });

  it('drops header fields whose names hold "_" by default (Transfer_Encoding beside Content-Length)', async () => {
    const text = await exchange(
      proxy,
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer_Encoding: chunked\r\nX_Api_Key: k\r\nX-Kept: 1\r\n\r\nabc',
    );
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(backend.received, /_/);
    assert.match(backend.received, /\r\nX-Kept: 1\r\n/);
    assert.ok(backend.received.endsWith('\r\n\r\nabc'));
  });

  it('refuses them with 400 when headersWithUnderscores is reject', async () => {
    const client = await RawClient.open(strict.port);
    backend.received = '';
    client.write('GET / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n');
    assert.match(await client.waitForClose(), /^HTTP\/1\.1 400 /);
    assert.equal(backend.received, '');
  });

  it('forwards them when headersWithUnderscores is allow', async () => {
    await exchange(lax, 'GET / HTTP/1.1\r\nHost: a\r\nX_Api_Key: k\r\n\r\n');
    assert.match(backend.received, /\r\nX_Api_Key: k\r\n/);
  });
});
