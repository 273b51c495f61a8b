import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { type ClientHttp2Session, connect as h2connect, type IncomingHttpHeaders } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { headerListRequestHead, PorticoProxyError } from '@portico/proxy';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { FRAME, frame, RawH2, requestBlock } from './helpers/raw-h2.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCert, type TestCert } from './helpers/tls-certs.ts';

const BIG = randomBytes(6 * 1024 * 1024 + 7);
const BIG_SHA = createHash('sha256').update(BIG).digest('hex');

/** exchange sends one request on `session` and collects the response. */
async function exchange(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  const stream = session.request(headers, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
  const chunks: Buffer[] = [];
  const [responseHeaders] = await Promise.all([
    new Promise<IncomingHttpHeaders>((resolve, reject) =>
      stream.once('response', resolve).once('error', reject),
    ),
    new Promise((resolve, reject) => {
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('end', resolve);
      stream.once('error', reject);
    }),
  ]);
  return { headers: responseHeaders, body: Buffer.concat(chunks) };
}

describe('HTTP/2 from clients, HTTP/1.1 to backends', () => {
  let backend: Backend;
  let slow: Backend;
  let proxy: TestProxy;
  let cert: TestCert;
  let https: number;
  let h2c: number;
  let session: ClientHttp2Session;
  let inFlight = 0;
  let peak = 0;

  before(async () => {
    cert = makeCert(['h2.example']);
    backend = await startBackend('web', (req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-multi': ['a', 'b'] });
        res.end(BIG);
        return;
      }
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part one, ');
        setTimeout(() => res.end('part two'), 10);
        return;
      }
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        length += c.length;
      });
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('connection', 'keep-alive');
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            headers: req.headers,
            length,
            sha: hash.digest('hex'),
          }),
        );
      });
    });
    slow = await startBackend('slow', (_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end('slow');
      }, 300);
    });
    proxy = await startProxy({
      listeners: [
        { name: 'https', address: '127.0.0.1', port: 0, protocol: 'https' },
        { name: 'h2c', address: '127.0.0.1', port: 0, h2c: true },
      ],
      certificates: [{ name: 'h2', cert: cert.cert, key: cert.key }],
      // Low, so Portico's reset limit fires well before Node's own guard when CI is loaded.
      limits: { http2MaxResetsPerSecond: 20 },
      routes: [
        { host: 'h2.example', paths: [{ path: '/', service: 'web' }] },
        { host: 'slow.example', paths: [{ path: '/', service: 'slow' }] },
      ],
      services: [
        { name: 'web', endpoints: endpointsOf(backend) },
        { name: 'slow', endpoints: endpointsOf(slow) },
      ],
    });
    const bound = proxy.proxy.listeners();
    https = bound.find((l) => l.name === 'https')!.port;
    h2c = bound.find((l) => l.name === 'h2c')!.port;
    session = h2connect(`https://127.0.0.1:${https}`, { ca: cert.cert, servername: 'h2.example' });
  });
  after(async () => {
    session.close();
    await proxy.close();
    await Promise.all([backend.close(), slow.close()]);
  });

  it('negotiates h2 by ALPN and forwards GET with HTTP/1.1 semantics', async () => {
    const res = await exchange(session, { ':path': '/q?x=1', ':authority': 'h2.example', cookie: 'a=1' });
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.headers.connection, undefined, 'no connection-specific field reaches an h2 client');
    const body = JSON.parse(res.body.toString());
    assert.equal(body.method, 'GET');
    assert.equal(body.url, '/q?x=1');
    assert.equal(body.headers.host, 'h2.example');
    assert.equal(body.headers['x-forwarded-proto'], 'https');
    assert.equal(body.headers.cookie, 'a=1');
  });

  it('streams a large POST body up and a large response down, byte-exact', async () => {
    const up = await exchange(
      session,
      { ':method': 'POST', ':path': '/upload', ':authority': 'h2.example' },
      BIG,
    );
    const body = JSON.parse(up.body.toString());
    assert.equal(body.length, BIG.length);
    assert.equal(body.sha, BIG_SHA);
    assert.equal(body.headers['transfer-encoding'], 'chunked', 'a body of unknown length goes chunked');
    const sized = await exchange(
      session,
      {
        ':method': 'PUT',
        ':path': '/upload',
        ':authority': 'h2.example',
        'content-length': String(BIG.length),
      },
      BIG,
    );
    assert.equal(JSON.parse(sized.body.toString()).sha, BIG_SHA);
    const down = await exchange(session, { ':path': '/big', ':authority': 'h2.example' });
    assert.equal(down.body.length, BIG.length);
    assert.equal(createHash('sha256').update(down.body).digest('hex'), BIG_SHA);
    assert.equal(down.headers['x-multi'], 'a, b');
    const chunked = await exchange(session, { ':path': '/chunked', ':authority': 'h2.example' });
    assert.equal(chunked.body.toString(), 'part one, part two');
  });

  it('serves prior-knowledge h2c on a plain listener that enables it, and HTTP/1.1 beside it', async () => {
    const plain = h2connect(`http://127.0.0.1:${h2c}`);
    const res = await exchange(plain, { ':path': '/', ':authority': 'h2.example' });
    assert.equal(res.headers[':status'], 200);
    assert.equal(JSON.parse(res.body.toString()).headers['x-forwarded-proto'], 'http');
    plain.close();
    const http1 = await request(`http://127.0.0.1:${h2c}/`, { headers: { host: 'h2.example' } });
    assert.equal(http1.statusCode, 200);
    await http1.body.text();
  });

  it('refuses :authority and host that disagree, and a :path that is not origin-form', async () => {
    const before = backend.requests;
    const res = await exchange(session, { ':path': '/', ':authority': 'h2.example', host: 'other.example' });
    assert.equal(res.headers[':status'], 400);
    const raw = await RawH2.open(h2c);
    raw.write(frame(FRAME.HEADERS, 0x5, 1, requestBlock('h2.example', 'http://evil.example/')));
    await raw.until((frames) => frames.some((f) => f.stream === 1 || f.type === FRAME.GOAWAY));
    assert.ok(refusedOrBadRequest(raw.frames.find((f) => f.stream === 1 || f.type === FRAME.GOAWAY)!));
    raw.close();
    assert.equal(backend.requests, before, 'nothing reached the backend');
  });

  it('never lets CR/LF/NUL in an HTTP/2 field become an HTTP/1.1 header line', async () => {
    const raw = await RawH2.open(h2c);
    raw.write(frame(FRAME.HEADERS, 0x5, 1, requestBlock('h2.example', '/', [['x-a', 'v\r\nx-injected: 1']])));
    raw.write(frame(FRAME.HEADERS, 0x5, 3, requestBlock('h2.example', '/', [['x-b', 'v\0x-injected: 2']])));
    const ended = (id: number) => (frames: { type: number; flags: number; stream: number }[]) =>
      frames.some(
        (f) => f.type === FRAME.GOAWAY || (f.stream === id && (f.flags & 1 || f.type === FRAME.RST_STREAM)),
      );
    await raw.until((frames) => ended(1)(frames) && ended(3)(frames));
    raw.close();
    for (const id of [1, 3]) {
      const data = raw.frames.filter((f) => f.stream === id && f.type === FRAME.DATA);
      if (data.length === 0) continue; // refused: nothing was forwarded
      // nghttp2 drops a field with an invalid value (RFC 9113 8.2.1); the rest of the request goes on.
      const seen = JSON.parse(Buffer.concat(data.map((f) => f.payload)).toString()).headers;
      assert.equal(seen['x-injected'], undefined, `stream ${id}: no injected header`);
      for (const value of Object.values(seen)) assert.doesNotMatch(String(value), /[\r\n\0]/);
    }
  });

  it('maps an HTTP/2 header list onto the message model and refuses what HTTP/1.1 would refuse', () => {
    const limits = { maxRequestLineBytes: 8_192, maxHeaderCount: 100 };
    const parsing = {
      headersWithUnderscores: 'drop',
      normalizePath: true,
      mergeSlashes: false,
      escapedSlashes: 'keep',
    } as const;
    const refused = (headers: Record<string, unknown>, end = true) => {
      const head = headerListRequestHead(headers as never, end, limits, parsing);
      assert.ok(head instanceof PorticoProxyError, 'refused');
      return `${head.code}: ${head.message}`;
    };
    const get = { ':method': 'GET', ':path': '/', ':authority': 'a.example' };
    assert.equal(refused({ ...get, 'x-a': 'v\r\nx: 1' }), 'PORTICO_BAD_REQUEST: invalid x-a value');
    assert.equal(refused({ ...get, 'x-a': 'v\u0001' }), 'PORTICO_BAD_REQUEST: invalid x-a value');
    assert.equal(refused({ ...get, ':path': 'http://a/' }), 'PORTICO_BAD_REQUEST: :path must be origin-form');
    assert.equal(
      refused({ ...get, ':path': '/a b' }),
      'PORTICO_BAD_REQUEST: :path holds a character not allowed in a target',
    );
    assert.equal(
      refused({ ':method': 'CONNECT', ':authority': 'a:443' }),
      'PORTICO_METHOD_NOT_ALLOWED: CONNECT is not proxied',
    );
    assert.equal(refused({ ...get, host: 'b.example' }), 'PORTICO_BAD_HOST: :authority and host disagree');
    assert.equal(
      refused({ ...get, ':authority': 'a.example/x' }),
      'PORTICO_BAD_HOST: missing or invalid :authority',
    );
    assert.equal(
      refused({ ...get, 'content-length': '1x' }, false),
      'PORTICO_BAD_FRAMING: invalid content-length',
    );
    const head = headerListRequestHead(
      {
        ':method': 'POST',
        ':path': '/a/../p?q=1',
        ':authority': 'a.example',
        cookie: ['a=1', 'b=2'],
        te: 'trailers',
        x_under: 'dropped',
        'x-forwarded-for': '10.0.0.1',
        'x-request-id': 'r1',
      } as never,
      false,
      limits,
      parsing,
    );
    assert.ok(!(head instanceof PorticoProxyError));
    assert.equal(head.target, '/p?q=1', 'normalised as an HTTP/1.1 target would be');
    assert.equal(head.path, '/p');
    assert.equal(head.bodyLength, -1, 'no length: chunked upstream');
    assert.equal(head.forwardedFor, '10.0.0.1');
    assert.equal(head.requestId, 'r1');
    assert.deepEqual(
      head.fields,
      ['cookie', 'a=1; b=2', 'x-request-id', 'r1'],
      'te, x-forwarded-for and x_under not forwarded',
    );
  });

  it('refuses a stream beyond 100 concurrent with REFUSED_STREAM and serves the first 100', async () => {
    const raw = await RawH2.open(h2c, false);
    const headers = [];
    for (let i = 0; i < 101; i++)
      headers.push(frame(FRAME.HEADERS, 0x5, 1 + 2 * i, requestBlock('slow.example')));
    raw.write(...headers);
    await raw.until((frames) => frames.some((f) => f.type === FRAME.RST_STREAM));
    const resets = raw.frames.filter((f) => f.type === FRAME.RST_STREAM);
    assert.deepEqual(
      resets.map((f) => [f.stream, f.payload.readUInt32BE(0)]),
      [[201, 7]],
      'only the 101st stream is refused (REFUSED_STREAM = 7)',
    );
    await raw.until((frames) => frames.filter((f) => f.type === FRAME.HEADERS).length === 100, 10_000);
    raw.close();
  });

  it('keeps a conforming client to 100 streams in flight: 150 requests all succeed, at most 100 at once', async () => {
    const client = h2connect(`http://127.0.0.1:${h2c}`);
    peak = 0;
    const all = await Promise.all(
      Array.from({ length: 150 }, () => exchange(client, { ':path': '/', ':authority': 'slow.example' })),
    );
    client.close();
    assert.equal(all.filter((r) => Number(r.headers[':status']) === 200).length, 150);
    assert.ok(peak <= 100 && peak >= 90, `peak concurrency at the backend: ${peak}`);
  });

  it('closes a session that cancels streams faster than the limit (rapid reset) and keeps serving others', async () => {
    const calmed = proxy.proxy.http2!.counters.calmed;
    const raw = await RawH2.open(h2c);
    for (let i = 0; i < 400 && !raw.closed; i++) {
      const id = 1 + 2 * i;
      raw.write(frame(FRAME.HEADERS, 0x5, id, requestBlock('slow.example')));
      await new Promise((resolve) => setTimeout(resolve, 1));
      raw.write(frame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
    }
    await raw.until((frames) => frames.some((f) => f.type === FRAME.GOAWAY));
    const goaway = raw.frames.find((f) => f.type === FRAME.GOAWAY)!;
    assert.equal(goaway.payload.readUInt32BE(4), 11, 'GOAWAY ENHANCE_YOUR_CALM');
    assert.equal(proxy.proxy.http2!.counters.calmed, calmed + 1);
    raw.close();
    const res = await exchange(session, { ':path': '/', ':authority': 'h2.example' });
    assert.equal(res.headers[':status'], 200, 'another client is unaffected');
  });
});

/** refusedOrBadRequest tells whether a frame refuses a request: RST_STREAM, GOAWAY, or HEADERS with :status 400. */
function refusedOrBadRequest(frame: { type: number; payload: Buffer }): boolean {
  if (frame.type === FRAME.RST_STREAM || frame.type === FRAME.GOAWAY) return true;
  return frame.type === FRAME.HEADERS && frame.payload[0] === 0x8c; // HPACK static index 12: ":status 400"
}
