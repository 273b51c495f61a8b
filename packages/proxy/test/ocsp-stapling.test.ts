import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ocspRequest, parseOcspResponse } from '@portico/proxy';
import { type Backend, startBackend } from './helpers/backend.ts';
import { OcspCa, stapled } from './helpers/ocsp-ca.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

async function until<T>(get: () => Promise<T | undefined>, what: string, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('OCSP: requests a real responder accepts, responses read as it wrote them', () => {
  let ca: OcspCa;
  before(async () => {
    ca = new OcspCa();
    await ca.start();
  });
  after(() => ca.close());

  it('good and revoked certificates, with their update times', async () => {
    const ask = async (cert: string) => {
      const der = new X509Certificate(cert).raw;
      const issuer = new X509Certificate(ca.caPem).raw;
      const res = await fetch(
        ca.server.address() === null ? '' : `http://127.0.0.1:${(ca.server.address() as AddressInfo).port}/`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/ocsp-request' },
          body: ocspRequest(der, issuer),
        },
      );
      return parseOcspResponse(Buffer.from(await res.arrayBuffer()));
    };
    const good = await ask(ca.issue('good.test').cert);
    assert.equal(good.status, 'good');
    assert.ok(Math.abs(good.thisUpdate - Date.now()) < 120_000, 'thisUpdate is now');
    assert.ok(
      good.nextUpdate !== undefined && Math.abs(good.nextUpdate - good.thisUpdate - 600_000) < 2_000,
      '-nmin 10',
    );
    assert.equal((await ask(ca.issue('revoked.test', true).cert)).status, 'revoked');
    assert.throws(() => parseOcspResponse(Buffer.from('3003 0a0101'.replace(' ', ''), 'hex')), /status 1/);
  });
});

describe('OCSP stapling on HTTPS listeners', () => {
  let ca: OcspCa;
  let backend: Backend;
  let proxy: TestProxy;
  let https: number;
  let plain: number;
  let site: { cert: string; chain: string; key: string };

  before(async () => {
    ca = new OcspCa();
    await ca.start();
    site = ca.issue('site.test');
    const down = ca.issue('down.test');
    backend = await startBackend('web');
    proxy = await startProxy({
      listeners: [
        { name: 'https', address: '127.0.0.1', port: 0, protocol: 'https' },
        { name: 'plain', address: '127.0.0.1', port: 0, protocol: 'https', tls: { ocspStapling: false } },
      ],
      certificates: [
        { name: 'site', cert: site.chain, key: site.key },
        { name: 'down', cert: down.chain, key: down.key },
      ],
      routes: [{ host: 'site.test', paths: [{ path: '/', service: 'web' }] }],
      services: [{ name: 'web', endpoints: endpointsOf(backend) }],
    });
    const bound = proxy.proxy.listeners();
    https = bound.find((l) => l.name === 'https')!.port;
    plain = bound.find((l) => l.name === 'plain')!.port;
  });
  after(async () => {
    await proxy.close();
    await backend.close();
    ca.close();
  });

  it('staples a response the CA signed, fetched in the background, and asks the responder once', async () => {
    const first = await stapled(https, 'site.test');
    assert.equal(first, undefined, 'the first handshake does not wait for the responder');
    const response = await until(() => stapled(https, 'site.test'), 'a stapled response');
    const checked = ca.verify(response, site.cert);
    assert.match(checked, /: good/);
    const asked = ca.requests;
    for (let i = 0; i < 5; i++) assert.ok(await stapled(https, 'site.test'));
    assert.equal(ca.requests, asked, 'cached: no request per handshake');
  });

  it('a responder that fails leaves handshakes unstapled and working; a listener with ocspStapling off staples nothing', async () => {
    ca.failing = true;
    try {
      assert.equal(await stapled(https, 'down.test'), undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await stapled(https, 'down.test'), undefined, 'still none, and the handshake completes');
    } finally {
      ca.failing = false;
    }
    assert.equal(await stapled(plain, 'site.test'), undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await stapled(plain, 'site.test'), undefined, 'never, on a listener that does not staple');
  });
});
