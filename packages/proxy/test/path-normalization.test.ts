import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { normalizePath, removeDotSegments } from '@portico/proxy';
import { type Backend, startBackend } from './helpers/backend.ts';
import { RawClient } from './helpers/raw-client.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

describe('path normalization before routing', () => {
  let old: Backend;
  let api: Backend;
  let proxy: TestProxy;
  let decoding: TestProxy;
  let rejecting: TestProxy;
  let raw: TestProxy;

  before(async () => {
    const echo = (name: string) =>
      startBackend(name, (req, res) => res.end(JSON.stringify({ name, url: req.url })));
    old = await echo('old');
    api = await echo('api');
    const config = {
      routes: [
        {
          paths: [{ path: '/old', service: 'old' }],
          rewriteTarget: '/v2/',
        },
        { paths: [{ path: '/api', service: 'api' }] },
        { paths: [{ path: '/', service: 'api' }] },
      ],
      services: [
        { name: 'old', endpoints: endpointsOf(old) },
        { name: 'api', endpoints: endpointsOf(api) },
      ],
    };
    proxy = await startProxy(config);
    decoding = await startProxy({
      ...config,
      requestParsing: { escapedSlashes: 'decode', mergeSlashes: true },
    });
    rejecting = await startProxy({
      ...config,
      listeners: [{ name: 'strict', address: '127.0.0.1', port: 0, escapedSlashes: 'reject' }],
    });
    raw = await startProxy({ ...config, requestParsing: { normalizePath: false } });
  });
  after(async () => {
    for (const p of [proxy, decoding, rejecting, raw]) await p.close();
    await old.close();
    await api.close();
  });

  /** send returns the status and, for a 200, which backend answered and the target it received. */
  async function send(target: TestProxy, path: string) {
    const client = await RawClient.open(target.port);
    client.write(`GET ${path} HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n`);
    const text = await client.waitForClose();
    const status = Number(text.slice(9, 12));
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    return status === 200 ? { status, ...(JSON.parse(body) as { name: string; url: string }) } : { status };
  }

  it('removes dot segments before routing and forwards the path it routed', async () => {
    assert.deepEqual(await send(proxy, '/old/../api/x'), { status: 200, name: 'api', url: '/api/x' });
    assert.deepEqual(await send(proxy, '/old/%2e%2e/api/x'), { status: 200, name: 'api', url: '/api/x' });
    assert.deepEqual(await send(proxy, '/%2E%2E/%2e%2E/api/./x'), {
      status: 200,
      name: 'api',
      url: '/api/x',
    });
    assert.deepEqual(await send(proxy, '/old/./a/b/../c?q=../x'), {
      status: 200,
      name: 'old',
      url: '/v2/a/c?q=../x',
    });
  });

  it('decodes percent-encoded unreserved characters and keeps other escapes', async () => {
    assert.deepEqual(await send(proxy, '/%61pi/%7Euser%20x'), {
      status: 200,
      name: 'api',
      url: '/api/~user%20x',
    });
  });

  it('keeps encoded slashes by default, decodes or refuses them as the listener says', async () => {
    assert.deepEqual(await send(proxy, '/api%2F..%2Fold'), {
      status: 200,
      name: 'api',
      url: '/api%2F..%2Fold',
    });
    assert.deepEqual(await send(decoding, '/api%2F..%2Fold//x'), { status: 200, name: 'old', url: '/v2/x' });
    assert.deepEqual(await send(rejecting, '/api%2fx'), { status: 400 });
    assert.deepEqual(await send(rejecting, '/api%5Cx'), { status: 400 });
    assert.deepEqual(await send(rejecting, '/api/x'), { status: 200, name: 'api', url: '/api/x' });
  });

  it('refuses a malformed percent-encoding with 400', async () => {
    assert.deepEqual(await send(proxy, '/api/100%'), { status: 400 });
    assert.deepEqual(await send(proxy, '/api/%zz'), { status: 400 });
  });

  it('routes the path as sent when normalizePath is off', async () => {
    assert.deepEqual(await send(raw, '/old/../api/x'), { status: 200, name: 'old', url: '/v2/../api/x' });
  });

  it('follows RFC 3986 5.2.4 for dot segments', () => {
    const cases: [string, string][] = [
      ['/a/b/c/./../../g', '/a/g'],
      ['/mid/content=5/../6', '/mid/6'],
      ['/..', '/'],
      ['/../..', '/'],
      ['/a/..', '/'],
      ['/a/.', '/a/'],
      ['/a/./', '/a/'],
      ['/a/b/..', '/a/'],
      ['/a/.b/..c', '/a/.b/..c'],
      ['//a/../b', '//b'],
    ];
    for (const [input, output] of cases) assert.equal(removeDotSegments(input), output, input);
    const policy = { normalizePath: true, mergeSlashes: false, escapedSlashes: 'keep' } as const;
    const plain = '/api/users/7';
    assert.equal(normalizePath(plain, policy), plain, 'a clean path is the same string');
  });
});
