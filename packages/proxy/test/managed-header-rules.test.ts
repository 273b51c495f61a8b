import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { RawClient } from './helpers/raw-client.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

/** Header rules on the fields Portico writes itself: `set` replaces, `remove` removes. */
describe('header rules on managed fields', () => {
  let echo: Backend;
  let proxy: TestProxy;

  before(async () => {
    echo = await startBackend('echo', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('via', '1.1 backend');
      res.end(JSON.stringify({ raw: req.rawHeaders }));
    });
    proxy = await startProxy({
      forwarding: { forwardedHeader: true, viaHeader: true },
      routes: [
        {
          host: 'set.example',
          paths: [{ path: '/', service: 'echo' }],
          requestHeaders: {
            set: {
              'X-Forwarded-For': '203.0.113.7',
              'X-Real-IP': '203.0.113.7',
              'X-Forwarded-Proto': 'https',
              'X-Request-Id': 'fixed-id',
              Via: '1.1 edge',
              Host: 'internal.svc:8080',
            },
          },
          responseHeaders: { set: { via: '1.1 front' } },
        },
        {
          host: 'remove.example',
          paths: [{ path: '/', service: 'echo' }],
          requestHeaders: {
            remove: [
              'x-forwarded-for',
              'x-real-ip',
              'x-forwarded-host',
              'x-forwarded-port',
              'forwarded',
              'via',
              'x-request-id',
            ],
          },
          responseHeaders: { remove: ['via'] },
        },
        { host: 'plain.example', paths: [{ path: '/', service: 'echo' }] },
      ],
      services: [{ name: 'echo', endpoints: endpointsOf(echo) }],
    });
  });
  after(async () => {
    await proxy.close();
    await echo.close();
  });

  /** fields sends a raw request and returns the upstream's request fields (lower-case name -> values). */
  async function fields(head: string) {
    const client = await RawClient.open(proxy.port);
    client.write(head);
    const text = await client.waitFor((t) => t.includes('}'));
    client.socket.destroy();
    const [resHead, body] = text.split('\r\n\r\n') as [string, string];
    const raw = (JSON.parse(body) as { raw: string[] }).raw;
    const map = new Map<string, string[]>();
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      map.set(name, [...(map.get(name) ?? []), raw[i + 1]!]);
    }
    const resVia = resHead
      .split('\r\n')
      .filter((l) => l.toLowerCase().startsWith('via:'))
      .map((l) => l.slice(4).trim());
    return { map, resVia };
  }

  it('set replaces what Portico would write, each field once, and sets Host per route', async () => {
    const { map, resVia } = await fields(
      'GET / HTTP/1.1\r\nHost: set.example\r\nX-Forwarded-For: 10.9.9.9\r\nX-Request-Id: client-id\r\nVia: 1.1 other\r\n\r\n',
    );
    assert.deepEqual(map.get('x-forwarded-for'), ['203.0.113.7']);
    assert.deepEqual(map.get('x-real-ip'), ['203.0.113.7']);
    assert.deepEqual(map.get('x-forwarded-proto'), ['https']);
    assert.deepEqual(map.get('x-request-id'), ['fixed-id']);
    assert.deepEqual(map.get('via'), ['1.1 edge']);
    assert.deepEqual(map.get('host'), ['internal.svc:8080']);
    assert.deepEqual(map.get('x-forwarded-host'), ['set.example'], 'the client asked for set.example');
    assert.equal(map.get('forwarded')?.length, 1, 'fields not named keep Portico’s value');
    assert.deepEqual(resVia, ['1.1 front']);
  });

  it('set Host also replaces the authority of an absolute-form request', async () => {
    const { map } = await fields('GET http://set.example/x HTTP/1.1\r\nHost: set.example\r\n\r\n');
    assert.deepEqual(map.get('host'), ['internal.svc:8080']);
  });

  it('remove removes managed fields, the client’s and Portico’s', async () => {
    const { map, resVia } = await fields(
      'GET / HTTP/1.1\r\nHost: remove.example\r\nX-Forwarded-For: 10.9.9.9\r\nX-Request-Id: client-id\r\n\r\n',
    );
    for (const name of [
      'x-forwarded-for',
      'x-real-ip',
      'x-forwarded-host',
      'x-forwarded-port',
      'forwarded',
      'via',
      'x-request-id',
    ])
      assert.equal(map.get(name), undefined, `${name} was sent`);
    assert.deepEqual(map.get('x-forwarded-proto'), ['http'], 'a field not removed stays');
    assert.deepEqual(map.get('host'), ['remove.example']);
    assert.deepEqual(resVia, [], 'the backend’s Via is removed and Portico adds none');
  });

  it('without rules the managed fields are Portico’s alone', async () => {
    const { map, resVia } = await fields(
      'GET / HTTP/1.1\r\nHost: plain.example\r\nX-Forwarded-For: 10.9.9.9\r\nConnection: host, x-request-id\r\nX-Request-Id: abc\r\n\r\n',
    );
    assert.deepEqual(map.get('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(map.get('host'), ['plain.example'], 'a Connection option never removes Host');
    assert.deepEqual(map.get('x-request-id'), ['abc']);
    assert.equal(resVia.length, 2);
  });

  it('a Host that is not an authority is refused at the config boundary', async () => {
    await assert.rejects(
      startProxy({
        routes: [{ paths: [{ path: '/', service: 'echo' }], requestHeaders: { set: { host: 'a b' } } }],
        services: [{ name: 'echo', endpoints: endpointsOf(echo) }],
      }),
      /host/,
    );
    await assert.rejects(
      startProxy({
        routes: [{ paths: [{ path: '/', service: 'echo' }], requestHeaders: { add: { host: 'a.example' } } }],
        services: [{ name: 'echo', endpoints: endpointsOf(echo) }],
      }),
      /can only be set/,
    );
  });

  it('undici sees one value per replaced field', async () => {
    const res = await request(`${proxy.url}/`, { headers: { host: 'set.example' } });
    const body = (await res.body.json()) as { raw: string[] };
    assert.equal(body.raw.filter((v, i) => i % 2 === 0 && v.toLowerCase() === 'x-forwarded-for').length, 1);
  });
});
