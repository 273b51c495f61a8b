import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { ACME_TLS_ALPN } from '@portico/proxy';
import { Agent, request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCert } from './helpers/tls-certs.ts';

/** handshake connects with `servername` offering `alpn`, returning the served CN and the protocol agreed. */
async function handshake(
  port: number,
  servername: string,
  alpn: string[],
): Promise<{ cn: string; protocol: string | false | null; closedByServer: boolean }> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername,
    ALPNProtocols: alpn,
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const cn = String(socket.getPeerCertificate().subject?.CN);
  const protocol = socket.alpnProtocol;
  const closedByServer = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 300);
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume();
  });
  socket.destroy();
  return { cn, protocol, closedByServer };
}

/**
 * The ACME challenge answers the proxy gives (RFC 8555 HTTP-01, RFC 8737 TLS-ALPN-01), as the CA's
 * validator asks for them, and nothing else changed for other clients. Issuance against a real CA is in
 * packages/cli/test/acme.test.ts.
 */
describe('ACME challenges answered by the proxy', () => {
  let backend: Backend;
  let proxy: TestProxy;
  let http: number;
  let https: number;
  const site = makeCert(['site.test']);

  before(async () => {
    backend = await startBackend('web');
    proxy = await startProxy({
      listeners: [
        { name: 'https', address: '127.0.0.1', port: 0, protocol: 'https', tls: { http2: true } },
        { name: 'http', address: '127.0.0.1', port: 0 },
      ],
      certificates: [{ name: 'site', cert: site.cert, key: site.key }],
      routes: [{ host: 'site.test', httpsRedirect: true, paths: [{ path: '/', service: 'web' }] }],
      services: [{ name: 'web', endpoints: endpointsOf(backend) }],
    });
    const bound = proxy.proxy.listeners();
    http = bound.find((l) => l.name === 'http')!.port;
    https = bound.find((l) => l.name === 'https')!.port;
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it('HTTP-01: a held token is answered before the route redirect; others fall through to the route', async () => {
    proxy.proxy.acmeChallenges.set('tok-1', 'tok-1.thumbprint');
    try {
      const answered = await request(`http://127.0.0.1:${http}/.well-known/acme-challenge/tok-1`, {
        headers: { host: 'site.test' },
      });
      assert.equal(answered.statusCode, 200);
      assert.equal(await answered.body.text(), 'tok-1.thumbprint');
      const other = await request(`http://127.0.0.1:${http}/.well-known/acme-challenge/tok-2`, {
        headers: { host: 'site.test' },
      });
      await other.body.dump();
      assert.equal(other.statusCode, 301, 'an unknown token is a path like any other');
    } finally {
      proxy.proxy.acmeChallenges.delete('tok-1');
    }
    const gone = await request(`http://127.0.0.1:${http}/.well-known/acme-challenge/tok-1`, {
      headers: { host: 'site.test' },
    });
    await gone.body.dump();
    assert.equal(gone.statusCode, 301, 'a deleted token is no longer answered');
  });

  it('TLS-ALPN-01: acme-tls/1 for a held host gets the challenge certificate and is closed; other handshakes are untouched', async () => {
    const distinct = makeCert(['challenge.site.test']); // a CN that tells the two certificates apart
    proxy.proxy.acmeChallenges.setTlsAlpn('Site.Test', distinct.cert, distinct.key);
    try {
      const validation = await handshake(https, 'site.test', [ACME_TLS_ALPN]);
      assert.deepEqual(validation, {
        cn: 'challenge.site.test',
        protocol: ACME_TLS_ALPN,
        closedByServer: true,
      });
      const browser = await handshake(https, 'site.test', ['h2', 'http/1.1']);
      assert.equal(
        browser.cn,
        'site.test',
        'a normal client gets the site certificate while a challenge is held',
      );
      assert.equal(browser.protocol, 'h2');
      // For a host not held, the handshake is the listener's own, which refuses an unknown protocol.
      const otherHost = await handshake(https, 'other.test', [ACME_TLS_ALPN]).catch((error: Error) => ({
        cn: error.message,
      }));
      assert.notEqual(otherHost.cn, 'challenge.site.test', 'no challenge certificate for a host not held');
      const dispatcher = new Agent({ connect: { rejectUnauthorized: false, servername: 'site.test' } });
      const res = await request(`https://127.0.0.1:${https}/`, {
        headers: { host: 'site.test' },
        dispatcher,
      });
      assert.equal(res.statusCode, 200);
      assert.equal(((await res.body.json()) as { backend: string }).backend, 'web');
      await dispatcher.close();
    } finally {
      proxy.proxy.acmeChallenges.deleteTlsAlpn('site.test');
    }
    assert.equal(proxy.proxy.acmeChallenges.tlsAlpnSize, 0);
    const after = await handshake(https, 'site.test', [ACME_TLS_ALPN, 'http/1.1']);
    assert.equal(after.cn, 'site.test', 'once removed, acme-tls/1 handshakes get the site certificate');
  });
});
