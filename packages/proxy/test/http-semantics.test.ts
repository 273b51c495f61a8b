import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawClient } from './helpers/raw-client.ts';
import { ScriptedBackend } from './helpers/scripted-backend.ts';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';

/** Responses the scripted backend sends, chosen by the request path. */
const RESPONSES: Record<string, string> = {
  '/204': 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n',
  '/304': 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 100\r\n\r\n',
  '/head': 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n',
  '/early-hints':
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  '/close-delimited': 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end',
  '/bad-cl-te': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  '/bad-status': 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n',
  '/bad-header': 'HTTP/1.1 200 OK\r\nX-Bad : y\r\nContent-Length: 0\r\n\r\n',
  '/two-lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc',
  '/bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n',
  '/hop':
    'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok',
};

describe('response framing and strictness', () => {
  let backend: ScriptedBackend;
  let proxy: TestProxy;

  before(async () => {
    backend = await ScriptedBackend.start((head, socket) => {
      const path = head.split(' ')[1]!;
      if (path === '/continue') return; // answered below, after the body
      const response = RESPONSES[path];
      if (response === undefined) return;
      socket.write(response);
      if (path === '/close-delimited') socket.end();
    });
    proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 's' }] }],
      services: [{ name: 's', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    });
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  async function exchange(raw: string, until: (text: string, closed: boolean) => boolean) {
    const client = await RawClient.open(proxy.port);
    client.write(raw);
    const text = await client.waitFor(until);
    client.close();
    return text;
  }
  const complete = (n: number) => (text: string) => text.split('HTTP/1.1 ').length - 1 >= n;

  it('204 and 304 have no body; the next request on the connection still works', async () => {
    const text = await exchange(
      'GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\nGET /early-hints HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      (_t, closed) => closed,
    );
    const parts = text.split(/(?=HTTP\/1\.1 )/).filter((p) => !p.startsWith('HTTP/1.1 103'));
    assert.equal(parts.length, 3);
    assert.match(parts[0]!, /^HTTP\/1\.1 204 No Content\r\n[\s\S]*\r\n\r\n$/);
    assert.match(parts[1]!, /^HTTP\/1\.1 304 Not Modified\r\n[\s\S]*content-length: 100\r\n\r\n$/);
    assert.match(parts[2]!, /^HTTP\/1\.1 200 OK\r\n/);
  });

  it('a HEAD response keeps its Content-Length and has no body', async () => {
    const text = await exchange(
      'HEAD /head HTTP/1.1\r\nHost: a\r\n\r\nHEAD /head HTTP/1.1\r\nHost: a\r\n\r\n',
      complete(2),
    );
    assert.equal(text, 'HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n'.repeat(2));
  });

  it('forwards 103 Early Hints to HTTP/1.1 clients before the final response', async () => {
    const text = await exchange('GET /early-hints HTTP/1.1\r\nHost: a\r\n\r\n', (t) => t.endsWith('ok'));
    assert.match(
      text,
      /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/a\.css>; rel=preload\r\n\r\nHTTP\/1\.1 200 OK\r\n/,
    );
  });

  it('relays a close-delimited response and closes the client connection after it', async () => {
    const text = await exchange('GET /close-delimited HTTP/1.1\r\nHost: a\r\n\r\n', (_t, closed) => closed);
    assert.match(
      text,
      /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain\r\nconnection: close\r\n\r\nuntil the end$/,
    );
  });

  for (const path of ['/bad-cl-te', '/bad-status', '/bad-header', '/two-lengths', '/bad-chunk']) {
    it(`answers 502 to an invalid upstream response (${path}) and forwards none of it`, async () => {
      const text = await exchange(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`, (_t, closed) => closed);
      assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
      assert.doesNotMatch(text, /X-Bad|2000|abc/);
    });
  }

  it('removes hop-by-hop response fields, including those named in Connection', async () => {
    const text = await exchange('GET /hop HTTP/1.1\r\nHost: a\r\n\r\n', (t) => t.endsWith('ok'));
    assert.doesNotMatch(text, /X-Secret|Keep-Alive|keep-alive/i);
    assert.match(text, /content-length: 2\r\n/);
  });
});

describe('Expect: 100-continue', () => {
  it('relays the 100 from the upstream, then the body, then the final response', async () => {
    const backend = await ScriptedBackend.start((head, socket) => {
      if (!/expect: 100-continue/i.test(head)) return;
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      socket.once('data', (body: Buffer) =>
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
      );
    });
    const proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 's' }] }],
      services: [{ name: 's', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    });
    const client = await RawClient.open(proxy.port);
    try {
      client.write('POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
      await client.waitFor((t) => t.includes('100 Continue'));
      client.write('hello');
      const text = await client.waitFor((t) => t.endsWith('hello'));
      assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    } finally {
      client.close();
      await proxy.close();
      await backend.close();
    }
  });
});
