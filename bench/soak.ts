/**
 * Soak: Portico (from its build) under a steady request rate for a fixed time, sampling its RSS, open file
 * descriptors and upstream connections, to show none grows after warm-up beyond configured bounds.
 *
 *   pnpm build && node --conditions=development bench/soak.ts [--minutes 10] [--rate 500]
 *
 * Traffic: keep-alive requests at `rate`/s over 20 connections, plus a new short-lived connection every
 * 100 ms, some with bodies, all to two local backends. Everything stays on 127.0.0.1 and stops by itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { option } from './options.ts';

const MINUTES = option('minutes', 10);
const RATE = option('rate', 500);
const MAIN = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));

async function backend(): Promise<{ server: Server; port: number; open: () => number }> {
  const sockets = new Set<Socket>();
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => res.end('soak-ok'));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, open: () => sockets.size };
}

const [b1, b2] = await Promise.all([backend(), backend()]);
const dir = mkdtempSync(join(tmpdir(), 'portico-soak-'));
const config = join(dir, 'portico.yaml');
writeFileSync(
  config,
  `listeners: [{ name: soak, address: 127.0.0.1, port: 0 }]
routes: [{ paths: [{ path: /, service: s }] }]
services: [{ name: s, endpoints: [{ address: 127.0.0.1, port: ${b1.port} }, { address: 127.0.0.1, port: ${b2.port} }] }]
upstreamPool: { maxIdlePerEndpoint: 16 }
`,
);
const child = spawn(process.execPath, [MAIN, 'run', '--config', config, '--log-level', 'info'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('portico did not start')), 10_000);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    output += text;
    const found = /"port":(\d+)/.exec(output);
    if (found) {
      clearTimeout(timer);
      resolve(Number(found[1]));
    }
  });
});
child.stdout!.resume(); // keep draining its (quiet) log

const url = `http://127.0.0.1:${port}`;
const pool = new Pool(url, { connections: 20, pipelining: 1 });
const samples: {
  minute: number;
  rssMiB: number;
  fds: number;
  upstream: number;
  requests: number;
  errors: number;
}[] = [];
let requests = 0;
let errors = 0;
const end = Date.now() + MINUTES * 60_000;
const intervalMs = 1000 / RATE;
let nextAt = Date.now();
let inflight = 0;

function sample(): void {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
  samples.push({
    minute: Math.round(((Date.now() - (end - MINUTES * 60_000)) / 60_000) * 10) / 10,
    rssMiB: Math.round(rss * 10) / 10,
    fds: readdirSync(`/proc/${child.pid}/fd`).length,
    upstream: b1.open() + b2.open(),
    requests,
    errors,
  });
  const last = samples.at(-1)!;
  console.log(
    `t=${last.minute}min rss=${last.rssMiB}MiB fds=${last.fds} upstream=${last.upstream} requests=${last.requests} errors=${last.errors}`,
  );
}

const sampler = setInterval(sample, 30_000);
const churn = setInterval(() => {
  if (Date.now() > end) return;
  request(`${url}/churn`, { method: 'POST', body: 'x'.repeat(1024), headers: { connection: 'close' } })
    .then((r) => r.body.text())
    .then(
      () => requests++,
      () => errors++,
    );
}, 100);

while (Date.now() < end) {
  if (inflight < 200) {
    inflight++;
    pool
      .request({ path: `/r/${requests % 1000}`, method: 'GET' })
      .then((r) => r.body.text())
      .then(
        () => {
          requests++;
          inflight--;
        },
        () => {
          errors++;
          inflight--;
        },
      );
  }
  nextAt += intervalMs;
  const wait = nextAt - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
clearInterval(churn);
clearInterval(sampler);
sample();
await pool.close();
child.kill('SIGTERM');
b1.server.close();
b2.server.close();
b1.server.closeAllConnections();
b2.server.closeAllConnections();

const warm = samples.find((s) => s.minute >= 2) ?? samples[0]!;
const last = samples.at(-1)!;
console.log(
  `\nsoak: ${MINUTES} min at ${RATE} req/s target, ${last.requests} requests, ${last.errors} errors`,
);
console.log(
  `RSS ${warm.rssMiB} MiB at ${warm.minute} min -> ${last.rssMiB} MiB at the end (max ${Math.max(...samples.map((s) => s.rssMiB))})`,
);
console.log(
  `fds ${warm.fds} -> ${last.fds} (max ${Math.max(...samples.map((s) => s.fds))}); upstream connections max ${Math.max(...samples.map((s) => s.upstream))} (pool bound 2 x 16 idle + in flight)`,
);
