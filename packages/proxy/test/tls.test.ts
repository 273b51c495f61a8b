import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCa, makeCert, type TestCa, type TestCert } from './helpers/tls-certs.ts';

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
  let redirect: number;

  before(async () => {
    shop = makeCert(['shop.example']);
    wild = makeCert(['*.apps.example']);
    backend = await startBackend('web');
    proxy = await startProxy({
      listeners: [
        { name: 'https', address: '127.0.0.1', port: 0, protocol: 'https' },
        { name: 'http', address: '127.0.0.1', port: 0 },
        { name: 'redirect', address: '127.0.0.1', port: 0, httpsRedirect: { port: 8443 } },
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
    redirect = bound.find((l) => l.name === 'redirect')!.port;
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
    assert.equal(
      res.headers['strict-transport-security'],
      'max-age=63072000',
      'two years, as Mozilla advises',
    );
    await dispatcher.close();
    const plain = await request(`http://127.0.0.1:${http}/`, { headers: { host: 'shop.example' } });
    await plain.body.text();
    assert.equal(plain.headers['strict-transport-security'], undefined, 'HSTS is never sent over HTTP');
  });

  it('answers 421 to a Host that the certificate chosen by SNI does not serve', async () => {
    // node:https, since undici takes the SNI from the Host field.
    const status = (servername: string, host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: https,
            servername,
            headers: { host },
            rejectUnauthorized: false,
            agent: false,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status('shop.example', 'one.apps.example'), 421, 'another certificate serves it');
    assert.equal(await status('shop.example', 'other.example'), 421, 'the default certificate serves it');
    assert.equal(await status('shop.example', 'SHOP.example:443'), 200, 'the same host, another spelling');
    assert.equal(await status('one.apps.example', 'two.apps.example'), 200, 'hosts that share a certificate');
  });

  it("a route's HTTPS redirect names the https listener's port when it is not 443", async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const other = await startProxy({
      listeners: [
        { name: 'http', address: '127.0.0.1', port: 0 },
        { name: 'https', address: '127.0.0.1', port, protocol: 'https' },
      ],
      routes: [{ host: 'shop.example', httpsRedirect: true, paths: [{ path: '/', service: 'web' }] }],
      services: [{ name: 'web', endpoints: endpointsOf(backend) }],
    });
    try {
      const res = await request(`${other.url}/x?y=1`, { headers: { host: 'shop.example:8080' } });
      await res.body.text();
      assert.equal(res.headers.location, `https://shop.example:${port}/x?y=1`);
    } finally {
      await other.close();
    }
  });

  it('redirects everything on a listener with httpsRedirect, except ACME HTTP-01 challenges', async () => {
    const res = await request(`http://127.0.0.1:${redirect}/a?b=1`, { headers: { host: 'shop.example' } });
    await res.body.text();
    assert.equal(res.statusCode, 301);
    assert.equal(res.headers.location, 'https://shop.example:8443/a?b=1');
    const acme = await request(`http://127.0.0.1:${redirect}/.well-known/acme-challenge/token`, {
      headers: { host: 'shop.example' },
    });
    await acme.body.text();
    assert.equal(acme.statusCode, 200, 'the challenge reaches the backend');
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

/** sClient runs `openssl s_client` against 127.0.0.1:`port` and tells whether a handshake completed, and how. */
async function sClient(
  port: number,
  args: string[],
): Promise<{ ok: boolean; protocol: string; cipher: string }> {
  const child = spawn('openssl', [
    's_client',
    '-connect',
    `127.0.0.1:${port}`,
    '-servername',
    'shop.example',
    ...args,
  ]);
  child.stdin.end('Q\n'); // quit once connected
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const timer = setTimeout(() => child.kill(), 10_000);
  await once(child, 'close');
  clearTimeout(timer);
  const cipher = /Cipher is (\S+)/.exec(out)?.[1] ?? '(NONE)';
  const protocol = /Protocol\s*:\s*(\S+)/.exec(out)?.[1] ?? /New, (TLSv[\d.]+)/.exec(out)?.[1] ?? '';
  return { ok: cipher !== '(NONE)' && cipher !== '0000', protocol, cipher };
}

describe('TLS policy: Mozilla intermediate by default', () => {
  let backend: Backend;
  let proxy: TestProxy;
  let port: number;

  before(async () => {
    const shop = makeCert(['shop.example']);
    backend = await startBackend('web');
    proxy = await startProxy({
      listeners: [{ name: 'https', address: '127.0.0.1', port: 0, protocol: 'https' }],
      certificates: [{ name: 'shop', cert: shop.cert, key: shop.key }],
      defaultService: 'web',
      services: [{ name: 'web', endpoints: endpointsOf(backend) }],
    });
    port = proxy.port;
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it('refuses TLS 1.0 and 1.1 even from a client that offers them', async () => {
    for (const version of ['-tls1', '-tls1_1']) {
      const result = await sClient(port, [version, '-cipher', 'DEFAULT@SECLEVEL=0']);
      assert.equal(result.ok, false, `${version} was accepted: ${result.protocol} ${result.cipher}`);
    }
  });

  it('refuses CBC, static-RSA and DHE suites on TLS 1.2 and accepts ECDHE with AEAD', async () => {
    for (const cipher of [
      'ECDHE-ECDSA-AES128-SHA',
      'AES128-GCM-SHA256',
      'ECDHE-ECDSA-AES256-SHA384',
      'DHE-RSA-AES128-GCM-SHA256',
    ]) {
      assert.equal((await sClient(port, ['-tls1_2', '-cipher', cipher])).ok, false, `${cipher} was accepted`);
    }
    const good = await sClient(port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
    assert.deepEqual([good.ok, good.cipher], [true, 'ECDHE-ECDSA-AES128-GCM-SHA256']);
    const chacha = await sClient(port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305']);
    assert.equal(chacha.ok, true);
    const tls13 = await sClient(port, ['-tls1_3']);
    assert.deepEqual([tls13.ok, tls13.protocol], [true, 'TLSv1.3']);
  });

  it('resumes sessions by ticket', async () => {
    const first = connect({ host: '127.0.0.1', port, servername: 'shop.example', rejectUnauthorized: false });
    const session = await new Promise<Buffer>((resolve, reject) => {
      first.once('session', resolve);
      first.once('error', reject);
    });
    first.destroy();
    const second = connect({
      host: '127.0.0.1',
      port,
      servername: 'shop.example',
      rejectUnauthorized: false,
      session,
    });
    await new Promise((resolve, reject) => second.once('secureConnect', resolve).once('error', reject));
    assert.equal(second.isSessionReused(), true);
    second.destroy();
  });
});

describe('mutual TLS', () => {
  let backend: Backend;
  let secureBackend: Server;
  let proxy: TestProxy;
  let ca: TestCa;
  let client: TestCert;
  let seenClientCn = '';

  before(async () => {
    ca = makeCa('Portico Test CA');
    client = ca.issue('alice');
    const serverCert = ca.issue('backend', ['backend.internal']);
    const portico = ca.issue('portico-edge');
    backend = await startBackend('web');
    secureBackend = createHttpsServer(
      {
        cert: serverCert.cert,
        key: serverCert.key,
        ca: ca.cert,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        seenClientCn = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN);
        res.end('secure backend');
      },
    );
    await new Promise<void>((resolve) => secureBackend.listen(0, '127.0.0.1', resolve));
    const securePort = (secureBackend.address() as { port: number }).port;
    const edge = makeCert(['mtls.example']);
    proxy = await startProxy({
      listeners: [
        {
          name: 'https',
          address: '127.0.0.1',
          port: 0,
          protocol: 'https',
          tls: { clientCertificate: { ca: ca.cert, subjectHeader: 'x-client-subject' } },
        },
      ],
      certificates: [{ name: 'edge', cert: edge.cert, key: edge.key }],
      routes: [
        { host: 'mtls.example', paths: [{ path: '/', service: 'web' }] },
        { host: 'upstream.example', paths: [{ path: '/', service: 'secure' }] },
        { host: 'wrong-name.example', paths: [{ path: '/', service: 'secure-wrong-name' }] },
      ],
      services: [
        { name: 'web', endpoints: endpointsOf(backend) },
        {
          name: 'secure',
          endpoints: [{ address: '127.0.0.1', port: securePort }],
          tls: { ca: ca.cert, serverName: 'backend.internal', cert: portico.cert, key: portico.key },
        },
        {
          name: 'secure-wrong-name',
          endpoints: [{ address: '127.0.0.1', port: securePort }],
          tls: { ca: ca.cert, serverName: 'other.internal', cert: portico.cert, key: portico.key },
        },
      ],
    });
  });
  after(async () => {
    await proxy.close();
    await backend.close();
    await new Promise((resolve) => secureBackend.close(resolve));
  });

  const withClientCert = (servername: string) =>
    new Agent({ connect: { rejectUnauthorized: false, servername, cert: client.cert, key: client.key } });

  it('passes the verified client subject to the backend, replacing any the client sent', async () => {
    const dispatcher = withClientCert('mtls.example');
    const res = await request(`https://127.0.0.1:${proxy.port}/`, {
      headers: { host: 'mtls.example', 'x-client-subject': 'CN=mallory' },
      dispatcher,
    });
    const body = (await res.body.json()) as { headers: Record<string, string> };
    assert.equal(body.headers['x-client-subject'], 'CN=alice,O=Portico Test');
    await dispatcher.close();
  });

  it('refuses a client without a certificate', async () => {
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false, servername: 'mtls.example' } });
    await assert.rejects(
      request(`https://127.0.0.1:${proxy.port}/`, { headers: { host: 'mtls.example' }, dispatcher }).then(
        (r) => r.body.text(),
      ),
    );
    await dispatcher.close();
  });

  it('speaks TLS to a service that asks for it: verifies its name against the CA and presents a client certificate', async () => {
    const dispatcher = withClientCert('mtls.example');
    const res = await request(`https://127.0.0.1:${proxy.port}/`, {
      headers: { host: 'upstream.example' },
      dispatcher,
    });
    assert.equal(await res.body.text(), 'secure backend');
    assert.equal(seenClientCn, 'portico-edge');
    const wrong = await request(`https://127.0.0.1:${proxy.port}/`, {
      headers: { host: 'wrong-name.example' },
      dispatcher,
    });
    await wrong.body.text();
    assert.equal(wrong.statusCode, 502, 'a certificate for another name is refused');
    await dispatcher.close();
  });
});
