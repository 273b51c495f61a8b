import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { generateSelfSigned } from '@portico/proxy';
import { pino } from 'pino';
import { type RunningPortico, startPortico } from 'portico';
import { Client } from 'undici';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { makeCert, type TestCert } from '../../proxy/test/helpers/tls-certs.ts';

const CONFIG = `listeners:
  - { name: https, address: 127.0.0.1, port: 0, protocol: https }
certificates:
  - { name: app, certFile: tls/cert.pem, keyFile: tls/key.pem }
routes:
  - host: app.example
    paths:
      - { path: /, service: app }
services:
  - name: app
    endpoints:
      - { address: 127.0.0.1, port: @PORT@ }
`;

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/** get makes one request on a new TLS connection and returns the status and the served certificate's fingerprint. */
function get(port: number): Promise<{ status: number; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: 'app.example',
        headers: { host: 'app.example' },
        agent: false,
        rejectUnauthorized: false,
      },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint: cert.fingerprint256 }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('certificate files rotate while serving', () => {
  let dir: string;
  let backend: Backend;
  let running: RunningPortico;
  let port: number;
  let first: TestCert;
  const logs: Record<string, unknown>[] = [];

  /** install replaces the certificate and key the way cert-manager's volume or an ACME client does: new files, renamed into place. */
  async function install(cert: string, key: string): Promise<void> {
    await writeFile(join(dir, 'tls', 'cert.pem.tmp'), cert);
    await writeFile(join(dir, 'tls', 'key.pem.tmp'), key);
    await rename(join(dir, 'tls', 'key.pem.tmp'), join(dir, 'tls', 'key.pem'));
    await rename(join(dir, 'tls', 'cert.pem.tmp'), join(dir, 'tls', 'cert.pem'));
  }

  async function servedWithin(expected: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if ((await get(port)).fingerprint === expected) return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return false;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-tls-'));
    await mkdir(join(dir, 'tls'));
    first = makeCert(['app.example']);
    await install(first.cert, first.key);
    backend = await startBackend('app');
    await writeFile(join(dir, 'portico.yaml'), CONFIG.replace('@PORT@', String(backend.port)));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
        done();
      },
    });
    running = await startPortico({ config: join(dir, 'portico.yaml') }, pino({ level: 'info' }, sink));
    port = running.proxy.listeners()[0]!.port;
  });
  after(async () => {
    await running.stop(500);
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a renewed certificate within a second, failing no request, leaving open connections alone', async () => {
    assert.equal((await get(port)).fingerprint, fingerprint(first.cert));
    const kept = new Client(`https://127.0.0.1:${port}`, {
      connect: { rejectUnauthorized: false, servername: 'app.example' },
    });
    const before = await kept.request({ path: '/', method: 'GET', headers: { host: 'app.example' } });
    await before.body.text();
    const connectionsBefore = backend.connections;

    let failures = 0;
    let requests = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop && requests < 2_000) {
        requests++;
        const res = await get(port).catch(() => ({ status: 0, fingerprint: '' }));
        if (res.status !== 200) failures++;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = makeCert(['app.example']);
    const logsBefore = logs.length;
    await install(second.cert, second.key);
    assert.ok(await servedWithin(fingerprint(second.cert), 1_000), 'the new certificate serves within 1 s');
    const loaded = logs.slice(logsBefore).find((l) => String(l['msg']).includes('" loaded: '));
    assert.ok(loaded, 'the new version is logged as loaded');
    assert.match(String(loaded['msg']), /^certificate "\S+" loaded: app\.example, expires in \d+ days$/);
    assert.equal(loaded['fingerprint256'], fingerprint(second.cert));
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    await loop;
    assert.equal(failures, 0, `${failures} of ${requests} requests failed`);
    assert.ok(requests > 20);

    const again = await kept.request({ path: '/', method: 'GET', headers: { host: 'app.example' } });
    await again.body.text();
    assert.equal(again.statusCode, 200, 'a connection opened before the rotation still works');
    assert.ok(backend.connections >= connectionsBefore);
    await kept.close();
  });

  it('refuses a key that does not fit, and an expired certificate, with a clear error; the last good one keeps serving', async () => {
    const good = (await get(port)).fingerprint;
    const other = makeCert(['app.example']);
    const stranger = makeCert(['stranger.example']);
    await install(other.cert, stranger.key);
    const mismatch = await waitForLog('PORTICO_TLS_KEY_MISMATCH');
    assert.match(
      String(mismatch.msg),
      /certificate "app": the private key does not belong to the certificate/,
    );
    assert.equal((await get(port)).fingerprint, good, 'the previous certificate still serves');

    const expired = generateSelfSigned({ hosts: ['app.example'], days: -1 });
    await install(expired.cert, expired.key);
    assert.match(String((await waitForLog('PORTICO_TLS_CERT_EXPIRED')).msg), /expired on/);
    assert.equal((await get(port)).fingerprint, good);

    await install('not a certificate', 'nor a key');
    assert.match(String((await waitForLog('PORTICO_TLS_CERT_INVALID')).msg), /not valid PEM/);
    assert.equal((await get(port)).fingerprint, good);

    const expiring = generateSelfSigned({ hosts: ['app.example'], days: 5 });
    await install(expiring.cert, expiring.key);
    const warning = await waitForLog('PORTICO_TLS_CERT_EXPIRING');
    assert.equal(warning.level, 40, 'a warning');
    assert.ok(await servedWithin(fingerprint(expiring.cert), 1_000), 'an expiring certificate still serves');
    const status = (await get(port)).status;
    assert.equal(status, 200);
  });

  async function waitForLog(code: string): Promise<Record<string, unknown>> {
    const from = logs.length;
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline) {
      const hit = logs.slice(from).find((l) => l.code === code);
      if (hit !== undefined) return hit;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no ${code} logged; got ${JSON.stringify(logs.slice(from))}`);
  }
});
