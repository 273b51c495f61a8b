import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { ocspRequest, parseOcspResponse } from '@portico/proxy';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

/**
 * A test CA with a real OCSP responder: openssl signs the certificates and answers each OCSP request
 * (`openssl ocsp -reqin ... -respout ...`) behind a Node HTTP server on 127.0.0.1, from an index that
 * says which serials are revoked.
 */
class OcspCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'portico-ocsp-'));
  readonly server: Server;
  requests = 0;
  failing = false;
  #url = '';

  constructor() {
    this.#openssl([
      ...[
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
      ],
      ...['-subj', '/CN=Portico OCSP Test CA', '-keyout', 'ca.key', '-out', 'ca.pem'],
      ...[
        '-addext',
        'basicConstraints=critical,CA:true',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      ],
    ]);
    writeFileSync(join(this.dir, 'index.txt'), '');
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        if (this.failing) {
          res.statusCode = 503;
          res.end();
          return;
        }
        const n = this.requests;
        writeFileSync(join(this.dir, `req-${n}.der`), Buffer.concat(chunks));
        this.#openssl([
          ...['ocsp', '-index', 'index.txt', '-CA', 'ca.pem', '-rsigner', 'ca.pem', '-rkey', 'ca.key'],
          ...['-reqin', `req-${n}.der`, '-respout', `resp-${n}.der`, '-nmin', '10'],
        ]);
        res.setHeader('content-type', 'application/ocsp-response');
        res.end(readFileSync(join(this.dir, `resp-${n}.der`)));
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  /** issue signs a certificate for `host` naming the responder, returning it (with the CA: the chain) and its key. */
  issue(host: string, revoked = false): { cert: string; chain: string; key: string } {
    const name = host.replace(/[^a-z0-9]/g, '-');
    writeFileSync(
      join(this.dir, `${name}.cnf`),
      `subjectAltName=DNS:${host}\nauthorityInfoAccess=OCSP;URI:${this.#url}\n`,
    );
    this.#openssl([
      ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-subj', `/CN=${host}`, '-keyout', `${name}.key`, '-out', `${name}.csr`],
    ]);
    this.#openssl([
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-days', '1', '-extfile', `${name}.cnf`, '-out', `${name}.pem`],
    ]);
    const cert = readFileSync(join(this.dir, `${name}.pem`), 'utf8');
    const x509 = new X509Certificate(cert);
    const expiry = `${new Date(x509.validTo).toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
    const now = `${new Date().toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
    const line = `${revoked ? 'R' : 'V'}\t${expiry}\t${revoked ? now : ''}\t${x509.serialNumber}\tunknown\t/CN=${host}\n`;
    writeFileSync(join(this.dir, 'index.txt'), readFileSync(join(this.dir, 'index.txt'), 'utf8') + line);
    const ca = readFileSync(join(this.dir, 'ca.pem'), 'utf8');
    return { cert, chain: cert + ca, key: readFileSync(join(this.dir, `${name}.key`), 'utf8') };
  }

  get caPem(): string {
    return readFileSync(join(this.dir, 'ca.pem'), 'utf8');
  }

  /** verify checks a stapled response with openssl against the CA: the status line it prints. */
  verify(response: Buffer, cert: string): string {
    writeFileSync(join(this.dir, 'stapled.der'), response);
    writeFileSync(join(this.dir, 'checked.pem'), cert);
    return execFileSync(
      'openssl',
      [
        ...['ocsp', '-respin', 'stapled.der', '-CAfile', 'ca.pem', '-issuer', 'ca.pem'],
        ...['-cert', 'checked.pem', '-no_nonce'],
      ],
      { cwd: this.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }

  #openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'ignore' });
  }

  close(): void {
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** stapled connects asking for OCSP (status_request) and returns the stapled response, or undefined. */
async function stapled(port: number, servername: string): Promise<Buffer | undefined> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername,
    requestOCSP: true,
    rejectUnauthorized: false,
  });
  let response: Buffer | undefined;
  socket.on('OCSPResponse', (r: Buffer | null) => {
    response = r ?? undefined; // null: the server stapled nothing
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.destroy();
  return response;
}

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
