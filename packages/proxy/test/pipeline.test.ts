import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type PorticoConfigInput, parseConfig } from '@portico/config';
import { createHandler, HeadEditor, type PorticoHandler, PorticoProxyError } from '@portico/proxy';
import { Agent, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCert, type TestCert } from './helpers/tls-certs.ts';

/** What the backend saw of one request, and what the client got back. */
interface Seen {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  upstream: { url: string; headers: IncomingHttpHeaders; body: string };
}

describe('one pipeline for every codec', () => {
  let backend: Backend;
  let proxy: TestProxy;
  let cert: TestCert;
  let https: number;
  let handler: PorticoHandler;
  let embedded: ReturnType<typeof createServer>;
  let embeddedPort: number;
  const routes = (): NonNullable<PorticoConfigInput['routes']> => [
    {
      host: 'app.example',
      paths: [{ path: '/api', service: 'web' }],
      rewriteTarget: '/v2',
      requestHeaders: { set: { 'x-tenant': 'blue' }, remove: ['x-secret'] },
      responseHeaders: { add: { 'x-served-by': 'portico' }, remove: ['x-internal'] },
      hsts: { maxAgeSeconds: 600 },
    },
    {
      host: 'app.example',
      paths: [{ path: '/old', service: 'web' }],
      redirect: { path: '/new', status: 302 },
    },
  ];

  before(async () => {
    cert = makeCert(['app.example']);
    backend = await startBackend('web', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.setHeader('x-internal', 'leak');
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }),
        );
      });
    });
    const services = [{ name: 'web', endpoints: endpointsOf(backend) }];
    proxy = await startProxy({
      listeners: [{ name: 'https', address: '127.0.0.1', port: 0, protocol: 'https' }],
      certificates: [{ name: 'app', cert: cert.cert, key: cert.key }],
      routes: routes(),
      services,
    });
    https = proxy.proxy.listeners()[0]!.port;
    handler = createHandler(
      parseConfig({ listeners: [{ name: 'embedded', port: 0 }], routes: routes(), services }),
    );
    embedded = createServer((req, res) => void handler.handle(req, res));
    await new Promise<void>((resolve) => embedded.listen(0, '127.0.0.1', resolve));
    embeddedPort = (embedded.address() as AddressInfo).port;
  });
  after(async () => {
    await proxy.close();
    await handler.close();
    embedded.close();
    await backend.close();
  });

  const headers = { 'x-secret': 'hide-me', 'content-type': 'text/plain' };

  async function viaHttp1(path: string, tls: boolean): Promise<Seen> {
    const dispatcher = new Agent({ connect: { ca: cert.cert, servername: 'app.example' } });
    const base = tls ? `https://127.0.0.1:${https}` : `http://127.0.0.1:${embeddedPort}`;
    const res = await request(`${base}${path}`, {
      method: 'POST',
      headers: { host: 'app.example', ...headers },
      body: 'hello',
      dispatcher,
    });
    const text = await res.body.text();
    await dispatcher.close();
    return {
      status: res.statusCode,
      headers: res.headers,
      upstream: text === '' ? undefined! : JSON.parse(text),
    };
  }

  async function viaHttp2(path: string): Promise<Seen> {
    const session = h2connect(`https://127.0.0.1:${https}`, { ca: cert.cert, servername: 'app.example' });
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      ':authority': 'app.example',
      ...headers,
    });
    stream.end('hello');
    const chunks: Buffer[] = [];
    const [response] = await Promise.all([
      new Promise<Record<string, string | string[] | undefined>>((resolve) =>
        stream.once('response', resolve),
      ),
      new Promise((resolve) => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.once('end', resolve);
      }),
    ]);
    session.close();
    const text = Buffer.concat(chunks).toString();
    return {
      status: Number(response[':status']),
      headers: response,
      upstream: text === '' ? undefined! : JSON.parse(text),
    };
  }

  for (const [codec, send] of [
    ['HTTP/1.1 over TLS', (path: string) => viaHttp1(path, true)],
    ['HTTP/2 over TLS', viaHttp2],
    ['node:http (createHandler)', (path: string) => viaHttp1(path, false)],
  ] as const) {
    it(`${codec}: the route's filters rewrite, edit both heads and redirect`, async () => {
      const seen = await send('/api/items?page=2');
      assert.equal(seen.status, 200);
      assert.equal(seen.upstream.url, '/v2/items?page=2', 'rewrite-target');
      assert.equal(seen.upstream.headers['x-tenant'], 'blue', 'request header set');
      assert.equal(seen.upstream.headers['x-secret'], undefined, 'request header removed');
      assert.equal(seen.upstream.body, 'hello', 'the body went through');
      assert.equal(seen.headers['x-served-by'], 'portico', 'response header added');
      assert.equal(seen.headers['x-internal'], undefined, 'response header removed');
      const hsts = codec.startsWith('node:http') ? undefined : 'max-age=600';
      assert.equal(seen.headers['strict-transport-security'], hsts, 'HSTS only over HTTPS');
      const redirected = await send('/old?x=1');
      assert.equal(redirected.status, 302);
      const scheme = codec.startsWith('node:http') ? 'http' : 'https';
      assert.equal(redirected.headers.location, `${scheme}://app.example/new?x=1`);
    });
  }
});

describe('HeadEditor', () => {
  it('renders safe fields and refuses what is not wire-safe, naming the problem', () => {
    assert.equal(HeadEditor.line('x-a', 'v 1\tok'), 'x-a: v 1\tok\r\n');
    const refused = (name: string, value: string) => {
      try {
        HeadEditor.line(name, value);
      } catch (error) {
        assert.ok(error instanceof PorticoProxyError);
        assert.equal(error.code, 'PORTICO_UNSAFE_FIELD');
        return error.message;
      }
      assert.fail(`${JSON.stringify(name)}: ${JSON.stringify(value)} was accepted`);
    };
    assert.match(refused('x-a', 'v\r\nx-injected: 1'), /value of "x-a" holds a character/);
    assert.match(refused('x-a', 'v\0'), /value of "x-a"/);
    assert.match(refused('x-a', 'caf\u00e9'), /not visible ASCII/);
    assert.match(refused('x-a', '\u010a'), /not visible ASCII/, 'U+010A would become LF as latin1');
    assert.match(refused('x a', 'v'), /not a token/);
    assert.match(refused('', 'v'), /empty/);
    assert.match(refused('Content-Length', '5'), /frames the message/);
    assert.match(refused('transfer-encoding', 'chunked'), /frames the message/);
  });

  it('set replaces the message field, add appends, and takeOver marks managed fields', () => {
    const head = new HeadEditor();
    head.set('X-Tenant', 'blue');
    head.add('x-extra', '1');
    assert.equal(head.lines, 'X-Tenant: blue\r\nx-extra: 1\r\n');
    assert.ok(head.removes('x-tenant'));
    assert.ok(!head.removes('x-extra'));
    head.takeOver(new Set(['via']));
    assert.ok(head.manages('via'));
    head.reset();
    assert.equal(head.lines, '');
    assert.ok(!head.removes('x-tenant'));
    assert.ok(!head.manages('via'));
  });

  it('a later set or remove also replaces what earlier filters added (filters apply in order)', () => {
    const head = new HeadEditor();
    head.add('X-Tier', 'route');
    head.add('x-keep', '1');
    head.add('x-tier', 'again');
    head.set('x-TIER', 'path');
    assert.equal(head.lines, 'x-keep: 1\r\nx-TIER: path\r\n');
    head.removeAll(new Set(['x-keep']));
    assert.equal(head.lines, 'x-TIER: path\r\n');
  });
});
