import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { type RedisServer, startRedis } from '../../proxy/test/helpers/redis-server.ts';
import { PorticoProcess } from './helpers/portico-process.ts';

/**
 * Two `portico run` processes (one of them with two workers), as two edge nodes, share one global limit
 * through a real redis-server; when Redis stops, each says so in its log and keeps limiting locally.
 */
describe('portico run: a global rate limit holds across processes and workers', () => {
  let app: Backend;
  let redis: RedisServer;
  let dir: string;
  const processes: PorticoProcess[] = [];

  before(async () => {
    app = await startBackend('app', (_req, res) => res.end('app'));
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'portico-global-limit-'));
  });
  after(async () => {
    for (const p of processes) p.kill();
    await redis.stop();
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('26 requests spread over 3 data planes admit 20 (not 20 each), and a Redis outage is logged', async () => {
    const file = join(dir, 'portico.yaml');
    await writeFile(
      file,
      `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]
rateLimitStore: { redis: { url: "${redis.url}" }, syncIntervalMs: 20 }
routes:
  - host: api.example
    rateLimit: { requestsPerMinute: 20, global: true }
    paths: [{ path: /, service: app }]
services:
  - name: app
    endpoints: [{ address: 127.0.0.1, port: ${app.port} }]
`,
    );
    const one = new PorticoProcess(['run', '--config', file, '--workers', '2']);
    const two = new PorticoProcess(['run', '--config', file]);
    processes.push(one, two);
    const ports = [await one.listeningPort(), await two.listeningPort()];
    const statuses: number[] = [];
    for (let i = 0; i < 26; i++) {
      // A connection of its own each time, so the kernel may pick either worker of the first process.
      const res = await request(`http://127.0.0.1:${ports[i % 2]}/`, {
        headers: { host: 'api.example' },
        reset: true,
      });
      await res.body.text();
      statuses.push(res.statusCode);
      await new Promise((r) => setTimeout(r, 60)); // three syncs: every data plane knows the counts
    }
    const admitted = statuses.filter((s) => s === 200).length;
    // Each data plane admits its first request of a key before it has synced it: at most 2 more.
    assert.ok(admitted >= 20 && admitted <= 22, `${admitted} admitted: ${statuses.join(' ')}`);
    // The last requests to the single process (odd indexes) are refused. Not those to the first process:
    // the kernel may give one of its workers its first request of the key only at the end, and that one
    // is admitted before the worker has synced (the allowance above).
    assert.deepEqual([statuses[23], statuses[25]], [429, 429], statuses.join(' '));

    await redis.stop();
    await request(`http://127.0.0.1:${ports[1]}/`, { headers: { host: 'api.example' } }).then((r) =>
      r.body.text(),
    );
    const down = await two.waitForLog((l) => String(l['msg']).startsWith('rate limit store unreachable'));
    assert.ok(!JSON.stringify(down).includes('redis://'), 'the store URL is never logged');
    const local = await request(`http://127.0.0.1:${ports[1]}/`, { headers: { host: 'api.example' } });
    await local.body.text();
    assert.equal(local.statusCode, 429, 'onStoreFailure local: the counts this instance has still hold');
  });
});
