/**
 * Kubernetes at scale, through the proxy: the `portico` binary (built, as it ships: `dist/main.js`) runs
 * `--kubernetes` against a fake API server in its own process holding a synthetic cluster, and requests
 * go through Portico to a real backend on 127.0.0.1.
 *
 *   pnpm bench:kubernetes-live [--large 5000] [--changes 100] [--live 50] [--seconds 5] [--connections 4]
 *                              [--workers 1]
 *
 * Portico runs with the Node flags its shebang gives it (PORTICO_NODE_FLAGS='' runs it without).
 * It prints: the initial sync time (process start to the first request served) and Portico's RSS after
 * it; the time from the API server's write of a new Ingress to the first request served by its route
 * (polled every millisecond), over `--live` Ingresses; and the latency of requests on an unrelated route
 * (`steady.example.com`) with no changes, then while `--changes` changes apply (an EndpointSlice gaining
 * a pod, or a new Ingress, alternating, one every 20 ms), with the ratio of the two p99s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { option } from './options.ts';
import { shippedNodeFlags } from './portico-child.ts';

const LARGE = option('large', 5_000);
const CHANGES = option('changes', 100);
const LIVE = option('live', 50);
const SECONDS = option('seconds', 5);
const CONNECTIONS = option('connections', 4);
const WORKERS = option('workers', 1);
const FAKE = fileURLToPath(new URL('./kubernetes/fake-api-process.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));

/** lines reads a child's standard output as JSON lines, one `next()` at a time. */
function lines(child: ChildProcess): () => Promise<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  let waiter: ((line: Record<string, unknown>) => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    if (waiter === undefined) queue.push(line);
    else {
      const w = waiter;
      waiter = undefined;
      w(line);
    }
  });
  return () =>
    new Promise((resolve) => {
      const line = queue.shift();
      if (line !== undefined) resolve(line);
      else waiter = resolve;
    });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const backend = createServer((_, res) => res.end('ok'));
backend.listen(0, '127.0.0.1');
await new Promise((resolve) => backend.once('listening', resolve));
const localPort = (backend.address() as AddressInfo).port;

const fake = spawn(
  process.execPath,
  [
    '--conditions=development',
    FAKE,
    '--ingresses',
    `${LARGE}`,
    '--services',
    `${LARGE}`,
    '--slices',
    `${LARGE * 4}`,
    '--local-port',
    `${localPort}`,
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const fromFake = lines(fake);
const { url } = (await fromFake()) as { url: string };

const dir = await mkdtemp(join(tmpdir(), 'portico-live-'));
const kubeconfig = join(dir, 'kubeconfig');
await writeFile(
  kubeconfig,
  `apiVersion: v1
kind: Config
current-context: fake
clusters: [{ name: fake, cluster: { server: "${url}" } }]
users: [{ name: bench, user: { token: bench } }]
contexts: [{ name: fake, context: { cluster: fake, user: bench, namespace: default } }]
`,
);
const base = join(dir, 'base.yaml');
await writeFile(base, 'listeners:\n  - { name: http, address: 127.0.0.1, port: 0 }\n');
const started = performance.now();
const portico = spawn(
  process.execPath,
  [
    ...shippedNodeFlags(MAIN),
    MAIN,
    'run',
    '--kubernetes',
    '--kubeconfig',
    kubeconfig,
    '--config',
    base,
    '--workers',
    String(WORKERS),
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const fromPortico = lines(portico);
let port = 0;
while (port === 0) {
  const line = await fromPortico();
  if (typeof line['msg'] === 'string' && line['msg'].startsWith('listening on'))
    port = line['port'] as number;
}
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS + 2 });
async function status(host: string): Promise<number> {
  const res = await pool.request({ path: '/', method: 'GET', headers: { host } });
  await res.body.dump();
  return res.statusCode;
}
while ((await status('steady.example.com')) !== 200) await new Promise((r) => setTimeout(r, 20));
const syncMs = performance.now() - started;
await new Promise((r) => setTimeout(r, 2_000));
/** rss is the resident memory of Portico and its workers, in MiB. */
function rss(pid = portico.pid!): number {
  let kib = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  for (const task of readdirSync(`/proc/${pid}/task`))
    for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean))
      kib += rss(Number(child)) * 1024;
  return kib / 1024;
}
const rssAfterSync = rss();

// API write -> first request served by the new route.
const writeToServed: number[] = [];
for (let i = 0; i < LIVE; i++) {
  fake.stdin!.write(`live ${i}\n`);
  const { at } = (await fromFake()) as { at: number };
  const deadline = Date.now() + 10_000;
  while ((await status(`live-${i}.example.com`)) !== 200) {
    if (Date.now() > deadline) throw new Error(`live-${i}.example.com never served`);
    await new Promise((r) => setTimeout(r, 1));
  }
  writeToServed.push(performance.timeOrigin + performance.now() - at);
}
writeToServed.sort((a, b) => a - b);

/**
 * steadyLatencies sends requests on the unrelated route from CONNECTIONS loops: for SECONDS, or while
 * `during` runs when given (bounded in count either way).
 */
async function steadyLatencies(during?: () => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1_000;
  let stop = false;
  const loops = Array.from({ length: CONNECTIONS }, async () => {
    while (!stop && (during !== undefined || performance.now() < end) && latencies.length < 2_000_000) {
      const t = performance.now();
      await status('steady.example.com');
      latencies.push(performance.now() - t);
    }
  });
  if (during !== undefined) {
    await during();
    stop = true;
  }
  await Promise.all(loops);
  return latencies.sort((a, b) => a - b);
}

const quiet = await steadyLatencies();
let applied = 0;
const busy = await steadyLatencies(async () => {
  for (let i = 0; i < CHANGES; i++) {
    fake.stdin!.write(i % 2 === 0 ? `scale ${i % LARGE}\n` : `ingress ${i}\n`);
    await fromFake();
    applied++;
    await new Promise((r) => setTimeout(r, 20));
  }
});
const rssAfterChanges = rss();

fake.stdin!.write('exit\n');
portico.kill('SIGTERM');
await pool.close();
backend.close();
fake.kill();
await rm(dir, { recursive: true, force: true });

const ms = (n: number) => n.toFixed(2);
console.log(
  `Kubernetes through the proxy (node ${process.version}): ${LARGE} Ingresses / ${LARGE} Services / ${LARGE * 4} EndpointSlices`,
);
console.log(`| figure | value |`);
console.log(`|---|---|`);
console.log(`| initial sync (start -> first request served) | ${syncMs.toFixed(0)} ms |`);
console.log(
  `| Portico RSS after sync / after the changes | ${rssAfterSync.toFixed(1)} / ${rssAfterChanges.toFixed(1)} MiB |`,
);
console.log(
  `| API write -> first request served by the new route, p50 / p99 (${LIVE} Ingresses) | ${ms(percentile(writeToServed, 50))} / ${ms(percentile(writeToServed, 99))} ms |`,
);
console.log(
  `| unrelated route, no changes: p50 / p99 / max (${quiet.length} requests, c=${CONNECTIONS}) | ${ms(percentile(quiet, 50))} / ${ms(percentile(quiet, 99))} / ${ms(quiet.at(-1) ?? Number.NaN)} ms |`,
);
console.log(
  `| unrelated route, during ${applied} changes: p50 / p99 / max (${busy.length} requests) | ${ms(percentile(busy, 50))} / ${ms(percentile(busy, 99))} / ${ms(busy.at(-1) ?? Number.NaN)} ms |`,
);
console.log(
  `| p99 during changes / p99 without | ${(percentile(busy, 99) / percentile(quiet, 99)).toFixed(2)}x |`,
);
