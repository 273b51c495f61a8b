import assert from 'node:assert/strict';
import { createServer as createH2cServer, type Http2Server, connect as h2connect } from 'node:http2';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { preferredEncoding } from '@portico/proxy';
import { Agent, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

/** TEXT is a compressible body of about 64 KiB. */
const TEXT = Array.from({ length: 2_000 }, (_, i) => `line ${i}: the quick brown fox\n`).join('');
/** BIG is 4 MiB of text that compresses, but not to nothing. */
const BIG = Array.from(
  { length: 1 << 16 },
  (_, i) => `${i.toString(36).padStart(8, '0')} ${'x'.repeat(i % 50)}\n`,
)
  .join('')
  .slice(0, 4 << 20);

describe('compression: gzip and brotli chosen by Accept-Encoding, streaming', () => {
  let app: Backend;
  let h2App: Http2Server;
  let proxy: TestProxy;
  let h2cPort: number;
  const agent = new Agent({ connections: 1 });

  const get = async (path: string, headers: Record<string, string> = {}, method = 'GET') => {
    const res = await request(`${proxy.url}${path}`, {
      method: method as 'GET',
      dispatcher: agent,
      headers: { host: 'zip.example', ...headers },
    });
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
  };
  const decoded = (res: { headers: Record<string, unknown>; body: Buffer }) => {
    const coding = res.headers['content-encoding'];
    if (coding === 'gzip') return gunzipSync(res.body).toString();
    if (coding === 'br') return brotliDecompressSync(res.body).toString();
    return res.body.toString();
  };

  before(async () => {
    app = await startBackend('app', (req, res) => {
      const url = req.url ?? '/';
      const type = url.startsWith('/png') ? 'image/png' : 'text/html; charset=utf-8';
      res.setHeader('content-type', type);
      if (url === '/small') return res.end('tiny');
      if (url === '/etag') res.setHeader('etag', '"v1"');
      if (url === '/encoded') res.setHeader('content-encoding', 'gzip');
      if (url === '/no-transform') res.setHeader('cache-control', 'public, no-transform');
      if (url === '/vary') res.setHeader('vary', 'Cookie');
      if (url === '/error') res.statusCode = 500;
      if (url === '/partial') {
        res.statusCode = 206;
        res.setHeader('content-range', `bytes 0-99/${TEXT.length}`);
        return res.end(TEXT.slice(0, 100));
      }
      if (url === '/streamed') {
        // Chunked, in pieces with pauses between: compressed as it comes.
        let i = 0;
        const next = () => {
          if (i === 4) return res.end();
          res.write(TEXT.slice(i * 1000, (i + 1) * 1000));
          i++;
          setTimeout(next, 10);
        };
        return next();
      }
      if (url === '/big') return res.end(BIG);
      if (url === '/page') return res.end(TEXT.slice(0, 4096));
      res.end(TEXT);
    });
    h2App = createH2cServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ text: TEXT, path: req.url }));
    });
    await new Promise<void>((resolve) => h2App.listen(0, '127.0.0.1', resolve));
    proxy = await startProxy({
      listeners: [
        { name: 'web', address: '127.0.0.1', port: 0 },
        { name: 'h2c', address: '127.0.0.1', port: 0, h2c: true },
      ],
      routes: [
        { host: 'zip.example', compression: {}, paths: [{ path: '/', service: 'app' }] },
        {
          host: 'gzip-only.example',
          compression: { encodings: ['gzip'], contentTypes: ['text/*'], minBytes: 0 },
          paths: [{ path: '/', service: 'app' }],
        },
        { host: 'h2.example', compression: {}, paths: [{ path: '/', service: 'h2app' }] },
        { host: 'plain.example', paths: [{ path: '/', service: 'app' }] },
      ],
      services: [
        { name: 'app', endpoints: endpointsOf(app) },
        {
          name: 'h2app',
          protocol: 'http2',
          endpoints: [{ address: '127.0.0.1', port: (h2App.address() as AddressInfo).port }],
        },
      ],
    });
    const bound = proxy.proxy.listeners();
    h2cPort = bound.find((l) => l.name === 'h2c')!.port;
  });
  after(async () => {
    await agent.close();
    await proxy.close();
    await app.close();
    await new Promise((r) => h2App.close(r));
  });

  it('compresses with the coding the client weighs highest, brotli first on a tie', async () => {
    const br = await get('/', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['content-length'], undefined, 'the upstream length no longer applies');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.ok(br.body.length < TEXT.length / 4, `${br.body.length} bytes is compressed`);
    assert.equal(decoded(br), TEXT);
    const gzip = await get('/', { 'accept-encoding': 'br;q=0.5, gzip' });
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.equal(decoded(gzip), TEXT);
    const star = await get('/', { 'accept-encoding': '*;q=0.1, br;q=0' });
    assert.equal(star.headers['content-encoding'], 'gzip', '* covers gzip; br is refused');
    assert.equal(decoded(star), TEXT);
  });

  it('compresses a short body that came whole at once, and sends it with its length', async () => {
    for (const coding of ['gzip', 'br']) {
      const res = await get('/page', { 'accept-encoding': coding });
      assert.equal(res.headers['content-encoding'], coding);
      assert.equal(res.headers['content-length'], String(res.body.length));
      assert.equal(decoded(res), TEXT.slice(0, 4096));
    }
  });

  it('sends the body as it is, with Vary, to a client that accepts no coding offered', async () => {
    for (const accept of [undefined, 'identity', 'deflate', 'gzip;q=0, br;q=0', 'gzip;q=abc']) {
      const res = await get('/', accept === undefined ? {} : { 'accept-encoding': accept });
      assert.equal(res.headers['content-encoding'], undefined, `Accept-Encoding: ${accept}`);
      assert.equal(res.headers['content-length'], String(TEXT.length));
      assert.equal(res.headers.vary, 'Accept-Encoding');
      assert.equal(res.body.toString(), TEXT);
    }
  });

  it('leaves alone what must not or need not be compressed', async () => {
    const accept = { 'accept-encoding': 'gzip, br' };
    const cases: [string, string][] = [
      ['/small', 'shorter than minBytes'],
      ['/png', 'a type not listed'],
      ['/encoded', 'already encoded'],
      ['/no-transform', 'Cache-Control: no-transform'],
      ['/partial', 'a partial (206) response'],
      ['/error', 'a 500'],
    ];
    for (const [path, why] of cases) {
      const res = await get(path, accept);
      assert.equal(res.headers['content-encoding'], path === '/encoded' ? 'gzip' : undefined, why);
      assert.notEqual(res.headers['content-length'], undefined, why);
    }
    const head = await get('/', accept, 'HEAD');
    assert.equal(head.headers['content-encoding'], undefined, 'HEAD');
    const plain = await request(`${proxy.url}/`, {
      dispatcher: agent,
      headers: { host: 'plain.example', ...accept },
    });
    await plain.body.text();
    assert.equal(plain.headers['content-encoding'], undefined, 'a route without compression');
  });

  it('weakens a strong ETag and adds to an upstream Vary', async () => {
    const tagged = await get('/etag', { 'accept-encoding': 'gzip' });
    assert.equal(tagged.headers.etag, 'W/"v1"');
    const varied = await get('/vary', { 'accept-encoding': 'gzip' });
    const vary = varied.headers.vary;
    assert.deepEqual(Array.isArray(vary) ? vary : [vary], ['Cookie', 'Accept-Encoding']);
  });

  it('compresses a chunked response as it streams, and keeps the connections alive', async () => {
    const created = app.connections;
    for (let i = 0; i < 3; i++) {
      const res = await get('/streamed', { 'accept-encoding': 'gzip' });
      assert.equal(res.headers['content-encoding'], 'gzip');
      assert.equal(decoded(res), TEXT.slice(0, 4000));
    }
    assert.ok(
      app.connections - created <= 1,
      `the upstream connection is reused (${app.connections - created} made)`,
    );
    const res = await request(`http://127.0.0.1:${proxy.port}/`, {
      headers: { host: 'gzip-only.example', 'accept-encoding': 'gzip' },
      dispatcher: agent,
    });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString(), TEXT);
  });

  it('compresses a 4 MiB body for a client that reads slowly, without losing a byte', async () => {
    const res = await request(`${proxy.url}/big`, {
      headers: { host: 'zip.example', 'accept-encoding': 'br' },
    });
    const parts: Buffer[] = [];
    for await (const part of res.body) {
      parts.push(part as Buffer);
      if (parts.length % 4 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(res.headers['content-encoding'], 'br');
    assert.equal(brotliDecompressSync(Buffer.concat(parts)).toString(), BIG);
  });

  it('a client that leaves mid-body stops the compression and the proxy serves on', async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(proxy.port, '127.0.0.1', () =>
          socket.write('GET /big HTTP/1.1\r\nhost: zip.example\r\naccept-encoding: gzip\r\n\r\n'),
        );
        let got = 0;
        socket.on('data', (d) => {
          got += d.length;
          if (got > 1_000) socket.destroy();
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
    }
    const res = await get('/', { 'accept-encoding': 'gzip' });
    assert.equal(decoded(res), TEXT);
  });

  it('compresses for HTTP/2 clients and from HTTP/2 upstreams', async () => {
    const session = h2connect(`http://127.0.0.1:${h2cPort}`);
    try {
      const { headers, body } = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>(
        (resolve, reject) => {
          const stream = session.request({
            ':path': '/',
            ':authority': 'zip.example',
            'accept-encoding': 'gzip',
          });
          const parts: Buffer[] = [];
          let headers: Record<string, unknown> = {};
          stream.on('response', (h) => {
            headers = h;
          });
          stream.on('data', (d: Buffer) => parts.push(d));
          stream.on('end', () => resolve({ headers, body: Buffer.concat(parts) }));
          stream.on('error', reject);
        },
      );
      assert.equal(headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(body).toString(), TEXT);
    } finally {
      session.close();
    }
    const fromH2 = await request(`${proxy.url}/h2`, {
      headers: { host: 'h2.example', 'accept-encoding': 'br' },
    });
    assert.equal(fromH2.headers['content-encoding'], 'br');
    const json = JSON.parse(brotliDecompressSync(Buffer.from(await fromH2.body.arrayBuffer())).toString());
    assert.equal(json.text, TEXT);
    assert.equal(json.path, '/h2');
  });
});

describe('preferredEncoding (RFC 9110 12.5.3)', () => {
  const offered = ['br', 'gzip'];
  it('takes the highest q-value, the first offered on a tie, nothing at q=0', () => {
    assert.equal(preferredEncoding('gzip', offered), 'gzip');
    assert.equal(preferredEncoding('gzip, br', offered), 'br');
    assert.equal(preferredEncoding('BR;q=0.2, GZIP;Q=0.8', offered), 'gzip');
    assert.equal(preferredEncoding('*', offered), 'br');
    assert.equal(preferredEncoding('*;q=0', offered), undefined);
    assert.equal(preferredEncoding('br;q=0, *', offered), 'gzip');
    assert.equal(preferredEncoding('identity', offered), undefined);
    assert.equal(preferredEncoding('', offered), undefined);
    assert.equal(preferredEncoding(undefined, offered), undefined);
    assert.equal(preferredEncoding('gzip;q=2', offered), undefined, 'a malformed q-value counts as 0');
    assert.equal(preferredEncoding(' , ;, gzip ; q=0.001', offered), 'gzip');
  });
});
