import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, Pool, request } from 'undici';
import { option } from './options.ts';
import { freePort, startPorticoChild } from './portico-child.ts';

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
const adminPort = await freePort();
writeFileSync(
  config,
  `listeners:
  - { name: plain, address: 127.0.0.1, port: 0, h2c: true }
  - { name: secure, address: 127.0.0.1, port: 0, protocol: https }
routes: [{ paths: [{ path: /, service: s }] }]
services: [{ name: s, endpoints: [{ address: 127.0.0.1, port: ${b1.port} }, { address: 127.0.0.1, port: ${b2.port} }] }]
upstreamPool: { maxIdlePerEndpoint: 16 }
admin: { address: 127.0.0.1, port: ${adminPort} }
`,
);
const { child, ports } = await startPorticoChild(config, {
  main: MAIN,
  listeners: 2,
  args: ['--log-level', 'info'],
});

/** The plain and TLS listeners log their ports in the order configured. */
const url = `http://127.0.0.1:${ports[0]}`;
const tlsUrl = `https://127.0.0.1:${ports[1]}`;
const insecure = { rejectUnauthorized: false }; // Portico's generated self-signed certificate
const pool = new Pool(url, { connections: 20, pipelining: 1 });
const tlsPool = new Pool(tlsUrl, { connections: 10, pipelining: 1, connect: insecure });
const churnAgent = new Agent({ connect: insecure });
const h2c = h2connect(url);
const h2 = h2connect(tlsUrl, insecure);
h2c.on('error', () => {});
h2.on('error', () => {});

/** h2get sends one request on an HTTP/2 session and resolves when its response has ended. */
function h2get(session: typeof h2, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path }, { endStream: true });
    stream.on('error', reject);
    stream.on('response', (headers) => {
      if (headers[':status'] !== 200) reject(new Error(`status ${headers[':status']}`));
    });
    stream.resume();
    stream.on('end', resolve);
  });
}

/** send issues request number `n` over one of the four kinds of client, in turn. */
function send(n: number): Promise<unknown> {
  const path = `/r/${n % 1000}`;
  switch (n % 5) {
    case 0:
    case 1:
      return pool.request({ path, method: 'GET' }).then((r) => r.body.text());
    case 2:
      return tlsPool.request({ path, method: 'GET' }).then((r) => r.body.text());
    case 3:
      return h2get(h2c, path);
    default:
      return h2get(h2, path);
  }
}

const samples: {
  minute: number;
  rssMiB: number;
  heapMiB: number;
  externalMiB: number;
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

/** metric reads one gauge from the admin API's Prometheus text. */
function metric(text: string, name: string): number {
  const found = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  return found === null ? Number.NaN : Number(found[1]);
}

async function sample(): Promise<void> {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
  const metrics = await request(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.body.text());
  const mib = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;
  samples.push({
    minute: Math.round(((Date.now() - (end - MINUTES * 60_000)) / 60_000) * 10) / 10,
    rssMiB: Math.round(rss * 10) / 10,
    heapMiB: mib(metric(metrics, 'portico_nodejs_heap_size_used_bytes')),
    externalMiB: mib(metric(metrics, 'portico_nodejs_external_memory_bytes')),
    fds: readdirSync(`/proc/${child.pid}/fd`).length,
    upstream: b1.open() + b2.open(),
    requests,
    errors,
  });
  const last = samples.at(-1)!;
  console.log(
    `t=${last.minute}min rss=${last.rssMiB}MiB heap=${last.heapMiB}MiB external=${last.externalMiB}MiB fds=${last.fds} upstream=${last.upstream} requests=${last.requests} errors=${last.errors}`,
  );
}

const sampler = setInterval(() => void sample(), 30_000);
let churns = 0;
const churn = setInterval(() => {
  if (Date.now() > end) return;
  const target = churns++ % 2 === 0 ? url : tlsUrl;
  request(`${target}/churn`, {
    method: 'POST',
    body: 'x'.repeat(1024),
    headers: { connection: 'close' },
    dispatcher: churnAgent,
  })
    .then((r) => r.body.text())
    .then(
      () => requests++,
      () => errors++,
    );
}, 100);

while (Date.now() < end) {
  if (inflight < 200) {
    inflight++;
    send(requests + errors + inflight).then(
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
await sample();
await pool.close();
await tlsPool.close();
await churnAgent.close();
h2c.close();
h2.close();
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
  `JS heap ${warm.heapMiB} -> ${last.heapMiB} MiB; external (Buffers, TLS) ${warm.externalMiB} -> ${last.externalMiB} MiB`,
);
console.log(
  '\n| minute | RSS MiB | heap MiB | external MiB | fds | upstream |\n|---:|---:|---:|---:|---:|---:|',
);
for (const s of samples)
  console.log(`| ${s.minute} | ${s.rssMiB} | ${s.heapMiB} | ${s.externalMiB} | ${s.fds} | ${s.upstream} |`);
console.log(
  `fds ${warm.fds} -> ${last.fds} (max ${Math.max(...samples.map((s) => s.fds))}); upstream connections max ${Math.max(...samples.map((s) => s.upstream))} (pool bound 2 x 16 idle + in flight)`,
);
