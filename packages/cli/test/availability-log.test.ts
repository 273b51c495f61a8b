import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { startPortico } from 'portico';
import { request } from 'undici';

/** Endpoints leaving and rejoining rotation are logged with their service, reason and detail. */
describe('endpoint availability log', () => {
  it('logs a failed health check (with what failed), the recovery, and a passive ejection', async () => {
    let healthy = false;
    const backend = createServer((req, res) => {
      if (req.url === '/healthz') res.writeHead(healthy ? 200 : 503).end();
      else if (req.url === '/fail') res.writeHead(500).end('no');
      else res.end('ok');
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as AddressInfo).port;
    const dir = await mkdtemp(join(tmpdir(), 'portico-availability-'));
    const file = join(dir, 'portico.yaml');
    await writeFile(
      file,
      `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]
routes:
  - { host: checked.example, paths: [{ path: /, service: checked }] }
  - { host: ejected.example, paths: [{ path: /, service: ejected }] }
services:
  - name: checked
    endpoints: [{ address: 127.0.0.1, port: ${port} }]
    healthCheck: { type: http, path: /healthz, intervalMs: 100, jitterMs: 0, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 1 }
  - name: ejected
    endpoints: [{ address: 127.0.0.1, port: ${port} }]
    outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 300, maxEjectionPercent: 100 }
    panicThresholdPercent: 0
`,
    );
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const running = await startPortico({ config: file }, pino({ level: 'info' }, sink)).catch((error) => {
      backend.close();
      throw error;
    });
    const url = `http://127.0.0.1:${running.proxy.listeners()[0]!.port}`;
    const until = async (predicate: (l: Record<string, unknown>) => boolean, what: string) => {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const found = lines.find(predicate);
        if (found !== undefined) return found;
        if (Date.now() > deadline)
          throw new Error(`no log line for ${what}:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      const down = await until(
        (l) => l['service'] === 'checked' && l['reason'] === 'health-check',
        'the failed check',
      );
      assert.equal(down['level'], 40, 'warn');
      assert.equal(down['endpoint'], `127.0.0.1:${port}`);
      assert.match(String(down['detail']), /HTTP 503/);
      assert.match(String(down['msg']), /out of rotation/);
      healthy = true;
      const up = await until(
        (l) => l['service'] === 'checked' && l['level'] === 30 && l['reason'] === 'health-check',
        'the recovery',
      );
      assert.match(String(up['msg']), /takes requests again/);

      const res = await request(`${url}/fail`, { headers: { host: 'ejected.example' } });
      await res.body.text();
      const ejected = await until(
        (l) => l['service'] === 'ejected' && l['reason'] === 'ejected',
        'the ejection',
      );
      assert.equal(ejected['level'], 40);
      assert.match(String(ejected['detail']), /1 failures in a row, out for 300 ms/);
      await until(
        (l) => l['service'] === 'ejected' && l['reason'] === 'ejection-ended',
        'the end of the ejection',
      );
    } finally {
      await running.stop(200);
      backend.closeAllConnections();
      backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
