import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '@portico/config';
import { createProxy } from '@portico/proxy';
import { pino } from 'pino';
import { type RunningPortico, startPortico } from 'portico';
import { request } from 'undici';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { until } from './helpers/kube-harness.ts';

/** freePort returns a port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

describe('a config is applied whole or not at all', () => {
  let blue: Backend;
  let green: Backend;
  let squatter: Server;
  let taken: number;

  before(async () => {
    [blue, green] = await Promise.all([startBackend('blue'), startBackend('green')]);
    squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    taken = (squatter.address() as { port: number }).port;
  });
  after(async () => {
    await Promise.all([blue.close(), green.close()]);
    await new Promise((resolve) => squatter.close(resolve));
  });

  const config = (backend: Backend, listeners: { name: string; port: number }[]) =>
    parseConfig({
      listeners: listeners.map((l) => ({ ...l, address: '127.0.0.1' })),
      routes: [{ paths: [{ path: '/', service: 'app' }] }],
      services: [{ name: 'app', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    });

  it('proxy.apply: a listener that cannot bind refuses the whole config and binds nothing of it', async () => {
    const proxy = createProxy(config(blue, [{ name: 'main', port: 0 }]));
    const [main] = await proxy.listen();
    try {
      const before = proxy.snapshot;
      const extra = await freePort();
      await assert.rejects(
        proxy.apply(
          config(green, [
            { name: 'main', port: 0 },
            { name: 'extra', port: extra },
            { name: 'clash', port: taken },
          ]),
        ),
        (error: Error & { code?: string }) =>
          error.code === 'PORTICO_APPLY_FAILED' &&
          error.message.includes(`"clash" cannot bind 127.0.0.1:${taken}`),
      );
      assert.equal(proxy.snapshot, before, 'the snapshot in force is unchanged');
      assert.deepEqual(
        proxy.listeners().map((l) => l.name),
        ['main'],
      );
      assert.equal(await listening(extra), false, 'the listener bound during prepare was closed again');
      const res = await request(`http://127.0.0.1:${main!.port}/`);
      assert.match(await res.body.text(), /blue/);
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
    }
  });

  describe('portico run', () => {
    let dir: string;
    let file: string;
    let running: RunningPortico;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'portico-apply-'));
      file = join(dir, 'portico.yaml');
      await writeFile(file, yaml(blue, ''));
      running = await startPortico(
        { config: file },
        pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() })),
      );
    });
    after(async () => {
      await running.stop(200);
      await rm(dir, { recursive: true, force: true });
    });

    function yaml(backend: Backend, extraListener: string): string {
      return `listeners:
  - { name: http, address: 127.0.0.1, port: 0 }
${extraListener}routes: [{ paths: [{ path: /, service: app }] }]
services: [{ name: app, endpoints: [{ address: 127.0.0.1, port: ${backend.port} }] }]
admin: { address: 127.0.0.1, port: 0 }
`;
    }

    it('reports a failed prepare in /config/errors and metrics; status keeps the version in force', async () => {
      const admin = running.adminUrl!;
      const status = async () =>
        (await (await request(`${admin}/status`)).body.json()) as { version: number };
      const version = (await status()).version;
      await writeFile(
        `${file}.tmp`,
        yaml(green, `  - { name: clash, address: 127.0.0.1, port: ${taken} }\n`),
      );
      await rename(`${file}.tmp`, file);
      await until(
        async () => ((await (await request(`${admin}/config/errors`)).body.json()) as unknown[]).length > 0,
        3_000,
        'the failure in /config/errors',
      );
      const errors = (await (await request(`${admin}/config/errors`)).body.json()) as {
        code: string;
        message: string;
      }[];
      assert.equal(errors[0]!.code, 'PORTICO_APPLY_FAILED');
      assert.match(errors[0]!.message, /cannot bind/);
      assert.equal((await status()).version, version);
      const metrics = await (await request(`${admin}/metrics`)).body.text();
      assert.match(metrics, /^portico_config_errors_total 1$/m);
      const port = running.proxy.listeners()[0]!.port;
      assert.match(await (await request(`http://127.0.0.1:${port}/`)).body.text(), /blue/);
    });
  });
});
