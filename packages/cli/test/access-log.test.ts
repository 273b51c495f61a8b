import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { startPortico } from 'portico';
import { request } from 'undici';
import { startBackend } from '../../proxy/test/helpers/backend.ts';
import { makeCert } from '../../proxy/test/helpers/tls-certs.ts';
import { PorticoProcess, runPortico } from './helpers/portico-process.ts';

const quiet = () => pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() }));

describe('access log', () => {
  for (const [label, sample, expected] of [
    ['every request at sample 1', 1, ['GET /ok 200', 'GET /missing 404', 'GET /boom 502']],
    ['only errors (5xx) at sample 0', 0, ['GET /boom 502']],
  ] as const) {
    it(`writes one JSON line per request to a file: ${label}`, async () => {
      const backend = await startBackend('logged');
      const dir = await mkdtemp(join(tmpdir(), 'portico-log-'));
      const file = join(dir, 'portico.yaml');
      const logFile = join(dir, 'logs', 'access.log');
      await writeFile(
        file,
        `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]
routes:
  - { name: app, host: app.example, paths: [{ path: /ok, service: app }, { path: /boom, service: dead }] }
services:
  - { name: app, endpoints: [{ address: 127.0.0.1, port: ${backend.port} }] }
  - { name: dead, endpoints: [{ address: 127.0.0.1, port: 1 }] }
`,
      );
      const running = await startPortico(
        { config: file, accessLog: logFile, accessLogSample: sample },
        quiet(),
      );
      const url = `http://127.0.0.1:${running.proxy.listeners()[0]!.port}`;
      try {
        for (const path of ['/ok', '/missing', '/boom']) {
          const res = await request(`${url}${path}`, {
            headers: { host: 'app.example', 'x-request-id': `id${path}` },
          });
          await res.body.text();
        }
      } finally {
        await running.stop(200);
        await backend.close();
      }
      const lines = (await readFile(logFile, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.map((l) => `${l.method} ${l.path} ${l.status}`),
        expected,
      );
      const last = lines.at(-1);
      assert.equal(last.client, '127.0.0.1');
      assert.equal(last.requestId, 'id/boom');
      assert.equal(last.route, 'app');
      assert.equal(last.service, 'dead');
      assert.equal(last.errorCode, 'PORTICO_UPSTREAM_CONNECT');
      assert.match(last.time, /^\d{4}-\d\d-\d\dT/);
      await rm(dir, { recursive: true, force: true });
    });
  }

  it('JSON lines carry the protocol, query, user agent, referer and TLS of each request (HTTP/1.1, HTTP/2)', async () => {
    const backend = await startBackend('logged');
    const cert = makeCert(['app.example']);
    const dir = await mkdtemp(join(tmpdir(), 'portico-log-'));
    const file = join(dir, 'portico.yaml');
    const logFile = join(dir, 'access.log');
    await writeFile(
      file,
      `listeners:
  - { name: web, address: 127.0.0.1, port: 0 }
  - { name: secure, address: 127.0.0.1, port: 0, protocol: https }
certificates: [{ name: app, cert: ${JSON.stringify(cert.cert)}, key: ${JSON.stringify(cert.key)} }]
routes: [{ name: app, paths: [{ path: /, service: app }] }]
services: [{ name: app, endpoints: [{ address: 127.0.0.1, port: ${backend.port} }] }]
`,
    );
    const running = await startPortico({ config: file, accessLog: logFile }, quiet());
    const [web, secure] = running.proxy.listeners();
    try {
      const res = await request(`http://127.0.0.1:${web!.port}/plain?a=1&b=2`, {
        headers: { 'user-agent': 'agent/1.0', referer: 'https://from.example/' },
      });
      await res.body.text();
      await new Promise<void>((resolve, reject) => {
        const session = h2connect(`https://127.0.0.1:${secure!.port}`, {
          servername: 'app.example',
          rejectUnauthorized: false,
        });
        session.on('error', reject);
        const stream = session.request({ ':path': '/over-h2?q=z', 'user-agent': 'h2-agent' });
        stream.resume();
        stream.on('end', () => {
          session.close();
          resolve();
        });
      });
    } finally {
      await running.stop(200);
      await backend.close();
    }
    const [h1, h2] = (await readFile(logFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(h1.protocol, 'HTTP/1.1');
    assert.equal(h1.query, 'a=1&b=2');
    assert.equal(h1.userAgent, 'agent/1.0');
    assert.equal(h1.referer, 'https://from.example/');
    assert.equal(h1.listener, 'web');
    assert.equal(h1.tls, undefined);
    assert.equal(h2.protocol, 'HTTP/2');
    assert.equal(h2.path, '/over-h2');
    assert.equal(h2.query, 'q=z');
    assert.equal(h2.userAgent, 'h2-agent');
    assert.equal(h2.listener, 'secure');
    assert.equal(h2.tls.version, 'TLSv1.3');
    assert.match(h2.tls.cipher, /^TLS_/);
    assert.equal(h2.tls.sni, 'app.example');
    await rm(dir, { recursive: true, force: true });
  });

  it('portico run --access-log-format combined writes nginx lines, and SIGUSR1 reopens the file after logrotate', async () => {
    const backend = await startBackend('logged');
    const dir = await mkdtemp(join(tmpdir(), 'portico-log-'));
    const file = join(dir, 'portico.yaml');
    const logFile = join(dir, 'access.log');
    await writeFile(
      file,
      `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]
routes: [{ paths: [{ path: /, service: app }] }]
services: [{ name: app, endpoints: [{ address: 127.0.0.1, port: ${backend.port} }] }]
`,
    );
    const portico = new PorticoProcess([
      'run',
      '--config',
      file,
      '--access-log',
      logFile,
      '--access-log-format',
      'combined',
    ]);
    const lines = async (path: string) => (await readFile(path, 'utf8')).trim().split('\n');
    try {
      const port = await portico.listeningPort();
      const send = async (path: string) => {
        const res = await request(`http://127.0.0.1:${port}${path}`, {
          headers: { 'user-agent': 'rotating/1' },
        });
        await res.body.text();
      };
      await send('/before-1');
      await send('/before-2');
      // The lines are written asynchronously: wait for both before moving the file, as logrotate would.
      for (let i = 0; i < 100 && (await lines(logFile).catch(() => [])).length < 2; i++)
        await new Promise((r) => setTimeout(r, 20));
      await rename(logFile, `${logFile}.1`);
      portico.child.kill('SIGUSR1');
      await portico.waitForLog((l) => l['msg'] === 'access log reopened');
      await send('/after');
      for (let i = 0; i < 100 && (await lines(logFile).catch(() => [])).length < 1; i++)
        await new Promise((r) => setTimeout(r, 20));
    } finally {
      portico.child.kill('SIGTERM');
      assert.equal(await portico.exited, 0);
      await backend.close();
    }
    const combined =
      /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET (\/[a-z0-9-]+) HTTP\/1\.1" 200 \d+ "-" "rotating\/1"$/;
    const rotated = await lines(`${logFile}.1`);
    const fresh = await lines(logFile);
    assert.deepEqual(
      rotated.map((l) => combined.exec(l)?.[1]),
      ['/before-1', '/before-2'],
    );
    assert.deepEqual(
      fresh.map((l) => combined.exec(l)?.[1]),
      ['/after'],
    );
    await rm(dir, { recursive: true, force: true });
  });

  it('portico run refuses an access log template with an unknown variable, naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portico-log-'));
    const file = join(dir, 'portico.yaml');
    await writeFile(file, 'listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\n');
    const result = await runPortico([
      'run',
      '--config',
      file,
      '--access-log',
      join(dir, 'a.log'),
      '--access-log-template',
      '$remote_addr $bytes_sent',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stdout + result.stderr, /unknown variable \$bytes_sent/);
    await rm(dir, { recursive: true, force: true });
  });
});
