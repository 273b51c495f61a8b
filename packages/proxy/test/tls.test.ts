import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCert, type TestCert } from './helpers/tls-certs.ts';

/** handshake connects with `servername` (none when undefined) and returns the served certificate's subject CN. */
async function servedCn(port: number, servername: string | undefined, options = {}): Promise<string> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    rejectUnauthorized: false,
    ...(servername === undefined ? {} : { servername }),
    ...options,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const cn = String(socket.getPeerCertificate().subject?.CN);
  socket.destroy();
  return cn;
}

describe('TLS termination', () => {
  let backend: Backend;
  let proxy: TestProxy;
  let shop: TestCert;
  let wild: TestCert;
  let https: number;
  let http: number;

  before(async () => {
    shop = makeCert(['shop.example']);
    wild = makeCert(['*.apps.example']);
    backend = await startBackend('web');
    proxy = await startProxy({
      listeners: [
        { name: 'https', address: '127.0.0.1', port: 0, protocol: 'https' },
        { name: 'http', address: '127.0.0.1', port: 0 },
      ],
      certificates: [
        { name: 'shop', cert: shop.cert, key: shop.key },
        { name: 'wild', cert: wild.cert, key: wild.key },
      ],
      routes: [
        { host: 'shop.example', hsts: {}, paths: [{ path: '/', service: 'web' }] },
        { host: 'secure.apps.example', httpsRedirect: true, paths: [{ path: '/', service: 'web' }] },
      ],
      defaultService: 'web',
      services: [{ name: 'web', endpoints: endpointsOf(backend) }],
    });
    const bound = proxy.proxy.listeners();
    https = bound.find((l) => l.name === 'https')!.port;
    http = bound.find((l) => l.name === 'http')!.port;
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it('picks the certificate by SNI: exact, wildcard, and the default for unknown or no SNI', async () => {
    assert.equal(await servedCn(https, 'shop.example'), 'shop.example');
    assert.equal(await servedCn(https, 'SHOP.example.'), 'shop.example');
    assert.equal(await servedCn(https, 'one.apps.example'), '*.apps.example');
    assert.equal(await servedCn(https, 'a.b.apps.example'), 'Portico Default Certificate');
    assert.equal(await servedCn(https, 'other.example'), 'Portico Default Certificate');
    assert.equal(await servedCn(https, undefined), 'Portico Default Certificate');
  });

  it('proxies HTTPS to plain HTTP with X-Forwarded-Proto https and HSTS', async () => {
    const dispatcher = new Agent({ connect: { ca: shop.cert, servername: 'shop.example' } });
    const res = await request(`https://127.0.0.1:${https}/hello`, {
      headers: { host: 'shop.example' },
      dispatcher,
    });
    const body = (await res.body.json()) as { headers: Record<string, string> };
    assert.equal(res.statusCode, 200);
    assert.equal(body.headers['x-forwarded-proto'], 'https');
    assert.equal(body.headers['x-forwarded-port'], String(https));
    assert.equal(res.headers['strict-transport-security'], 'max-age=31536000');
    await dispatcher.close();
    const plain = await request(`http://127.0.0.1:${http}/`, { headers: { host: 'shop.example' } });
    await plain.body.text();
    assert.equal(plain.headers['strict-transport-security'], undefined, 'HSTS is never sent over HTTP');
  });

  it('redirects plain HTTP to HTTPS on routes that ask for it: 301 for GET, 308 for POST', async () => {
    const get = await request(`http://127.0.0.1:${http}/x?y=1`, {
      headers: { host: 'secure.apps.example' },
    });
    await get.body.text();
    assert.equal(get.statusCode, 301);
    assert.equal(get.headers.location, 'https://secure.apps.example/x?y=1');
    const post = await request(`http://127.0.0.1:${http}/x`, {
      method: 'POST',
      body: 'data',
      headers: { host: 'secure.apps.example' },
    });
    await post.body.text();
    assert.equal(post.statusCode, 308);
    const dispatcher = new Agent({
      connect: { rejectUnauthorized: false, servername: 'secure.apps.example' },
    });
    const over = await request(`https://127.0.0.1:${https}/x`, {
      headers: { host: 'secure.apps.example' },
      dispatcher,
    });
    await over.body.text();
    assert.equal(over.statusCode, 200, 'over HTTPS the route proxies');
    await dispatcher.close();
  });
});
