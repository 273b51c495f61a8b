import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { startBackend } from '../../proxy/test/helpers/backend.ts';
import { PorticoProcess } from './helpers/portico-process.ts';

const MiB = 1024 * 1024;
/**
 * SIZE is large enough that buffering a body would show: V8 frees socket buffers lazily (it collects
 * after tens of MiB of external memory), so some growth is normal, but it must not follow the body size.
 */
const SIZE = 256 * MiB;

function* zeros(total: number): Generator<Buffer> {
  const block = Buffer.alloc(256 * 1024, 0x61);
  for (let sent = 0; sent < total; sent += block.length)
    yield block.subarray(0, Math.min(block.length, total - sent));
}

describe('memory while streaming large bodies', () => {
  it('stays bounded in the proxy process while 256 MiB go up (chunked) and 256 MiB come down', async () => {
    const backend = await startBackend('bulk', (req, res) => {
      if (req.method === 'POST') {
        let bytes = 0;
        req.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        req.on('end', () => res.end(String(bytes)));
        return;
      }
      res.setHeader('content-length', String(SIZE));
      Readable.from(zeros(SIZE)).pipe(res);
    });
    const dir = await mkdtemp(join(tmpdir(), 'portico-mem-'));
    const file = join(dir, 'portico.yaml');
    await writeFile(
      file,
      `listeners: [{ name: http, address: 127.0.0.1, port: 0 }]
routes: [{ paths: [{ path: /, service: bulk }] }]
services: [{ name: bulk, endpoints: [{ address: 127.0.0.1, port: ${backend.port} }] }]
`,
    );
    const portico = new PorticoProcess(['run', '--config', file]);
    try {
      const port = await portico.listeningPort();
      const warm = await request(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        body: 'warm',
        headers: { host: 'a' },
      });
      await warm.body.text();
      const baseline = portico.rssBytes();
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, portico.rssBytes());
      }, 20);

      const up = await request(`http://127.0.0.1:${port}/upload`, {
        method: 'POST',
        body: Readable.from(zeros(SIZE)),
        headers: { host: 'a' },
      });
      assert.equal(await up.body.text(), String(SIZE));
      const down = await request(`http://127.0.0.1:${port}/download`, { headers: { host: 'a' } });
      let received = 0;
      for await (const chunk of down.body) received += (chunk as Buffer).length;
      assert.equal(received, SIZE);
      clearInterval(sampler);

      const grown = peak - baseline;
      assert.ok(grown < 96 * MiB, `proxy RSS grew by ${(grown / MiB).toFixed(1)} MiB moving 2 x 256 MiB`);
    } finally {
      portico.kill();
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
