import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { startPortico } from 'portico';
import { request } from 'undici';
import { startBackend } from '../../proxy/test/helpers/backend.ts';

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
});
