import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { writeInBursts } from './helpers/bursts.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

const MiB = 1024 * 1024;

/** pattern yields `total` deterministic bytes in chunks of `chunkSize`, without holding them all. */
function* pattern(total: number, chunkSize = 64 * 1024): Generator<Buffer> {
  const block = Buffer.alloc(chunkSize);
  for (let i = 0; i < chunkSize; i++) block[i] = (i * 31 + 7) & 0xff;
  for (let sent = 0; sent < total; sent += chunkSize)
    yield block.subarray(0, Math.min(chunkSize, total - sent));
}

function digestOf(total: number): string {
  const hash = createHash('sha256');
  for (const chunk of pattern(total)) hash.update(chunk);
  return hash.digest('hex');
}

describe('streaming bodies', () => {
  let backend: Backend;
  let proxy: TestProxy;

  before(async () => {
    backend = await startBackend('stream', (req, res) => {
      const size = Number(new URL(req.url!, 'http://x').searchParams.get('size') ?? 0);
      if (req.method === 'POST') {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
        });
        req.on('end', () =>
          res.end(
            JSON.stringify({
              bytes,
              sha256: hash.digest('hex'),
              te: req.headers['transfer-encoding'] ?? null,
            }),
          ),
        );
        return;
      }
      if (req.url!.startsWith('/chunked')) res.setHeader('transfer-encoding', 'chunked');
      else res.setHeader('content-length', String(size));
      Readable.from(pattern(size)).pipe(res);
    });
    proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 'stream' }] }],
      services: [{ name: 'stream', endpoints: endpointsOf(backend) }],
    });
  });
  after(async () => {
    await proxy.close();
    await backend.close();
  });

  for (const [label, chunked] of [
    ['chunked', true],
    ['Content-Length', false],
  ] as const) {
    it(`streams a 24 MiB ${label} request body upstream intact`, async () => {
      const size = 24 * MiB;
      const res = await request(`${proxy.url}/upload`, {
        method: 'POST',
        headers: { host: 'up.example', ...(chunked ? {} : { 'content-length': String(size) }) },
        body: Readable.from(pattern(size)),
      });
      const seen = JSON.parse(await res.body.text());
      assert.equal(res.statusCode, 200);
      assert.equal(seen.bytes, size);
      assert.equal(seen.sha256, digestOf(size));
      assert.equal(seen.te, chunked ? 'chunked' : null);
    });

    it(`streams a 24 MiB ${label} response body downstream intact`, async () => {
      const size = 24 * MiB;
      const res = await request(`${proxy.url}/${chunked ? 'chunked' : 'fixed'}?size=${size}`, {
        headers: { host: 'down.example' },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['transfer-encoding'], chunked ? 'chunked' : undefined);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of res.body) {
        bytes += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
      }
      assert.equal(bytes, size);
      assert.equal(hash.digest('hex'), digestOf(size));
    });
  }

  it('relays random bytes intact to fast and slow readers at once, in bursts and trickles', async () => {
    // Random, never periodic bytes: a read buffer reused while a write still held it would show here.
    const body = randomBytes(8 * MiB);
    const expected = createHash('sha256').update(body).digest('hex');
    const origin = await startBackend('random', (req, res) => {
      if (req.url!.startsWith('/chunked')) res.setHeader('transfer-encoding', 'chunked');
      else res.setHeader('content-length', String(body.length));
      writeInBursts(res, body);
    });
    const relay = await startProxy({
      routes: [{ paths: [{ path: '/', service: 'random' }] }],
      services: [{ name: 'random', endpoints: endpointsOf(origin) }],
    });
    const download = async (path: string, slow: boolean) => {
      const res = await request(`${relay.url}${path}`, { headers: { host: 'random.example' } });
      const hash = createHash('sha256');
      let bytes = 0;
      let stalls = 0;
      for await (const chunk of res.body) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        if (slow && bytes >= stalls * MiB) {
          stalls++; // a client that stalls now and then: the proxy's writes to it wait in Node
          await new Promise((resolve) => setTimeout(resolve, 40));
        }
      }
      assert.equal(bytes, body.length, path);
      return hash.digest('hex');
    };
    try {
      const got = await Promise.all([
        download('/fixed', true),
        download('/fixed', false),
        download('/chunked', true),
        download('/chunked', false),
      ]);
      assert.deepEqual(got, [expected, expected, expected, expected]);
    } finally {
      await relay.close();
      await origin.close();
    }
  });

  it('holds a slow reader back instead of buffering (backpressure reaches the backend)', async () => {
    const size = 64 * MiB;
    const res = await request(`${proxy.url}/fixed?size=${size}`, { headers: { host: 'slow.example' } });
    // Read a little, then stop: the proxy must stop reading from the backend rather than buffer 64 MiB.
    const iterator = res.body[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const rssBefore = process.memoryUsage().rss;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(grown < 16 * MiB, `memory grew by ${Math.round(grown / MiB)} MiB while the reader was paused`);
    res.body.destroy();
  });
});
