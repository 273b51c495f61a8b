import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { request } from 'undici';
import { FRAME, frame, RawH2, requestBlock } from '../packages/proxy/test/helpers/raw-h2.ts';
import { option } from './options.ts';
import { configFile, freePort, startPorticoChild } from './portico-child.ts';

const CONNECTIONS = option('connections', 200);
const HOLD_SECONDS = option('hold-seconds', 3);
const BIG = Buffer.alloc(10 * 1_048_576, 120);

const backend = createServer((req, res) => {
  if (req.url === '/upload') {
    req.on('data', () => req.pause()); // reads one piece, then never again: a slow upstream
    return;
  }
  req.resume();
  res.end(BIG);
});
await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
const backendPort = (backend.address() as AddressInfo).port;

const adminPort = await freePort();
const config = configFile(
  'slow-readers',
  `listeners: [{ name: edge, address: 127.0.0.1, port: 0, h2c: true }]
routes: [{ paths: [{ path: /, service: s }] }]
services: [{ name: s, endpoints: [{ address: 127.0.0.1, port: ${backendPort} }] }]
admin: { address: 127.0.0.1, port: ${adminPort} }
limits: { maxBodyBytes: 0 }
`,
);
const portico = await startPorticoChild(config);
const port = portico.ports[0]!;
for (let i = 0; ; i++) {
  // the admin API starts just after the listeners
  const up = await request(`http://127.0.0.1:${adminPort}/metrics`).then(
    (r) => r.body.text().then(() => true),
    () => false,
  );
  if (up) break;
  if (i > 100) throw new Error('the admin API did not start');
  await new Promise((r) => setTimeout(r, 50));
}

/** memory reads Portico's RSS (from /proc) and external memory (from its metrics), in MiB. */
async function memory(): Promise<{ rss: number; external: number }> {
  await request(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.body.text()); // a GC-neutral poke
  const text = await request(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.body.text());
  const external = Number(/^portico_nodejs_external_memory_bytes (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
  const rss =
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${portico.child.pid}/status`, 'utf8'))![1]) * 1024;
  const mib = (n: number) => Math.round((n / 1_048_576) * 10) / 10;
  return { rss: mib(rss), external: mib(external) };
}

const rows: string[] = [];
async function measure(name: string, open: () => Promise<() => void>): Promise<void> {
  const before = await memory();
  const closers: (() => void)[] = [];
  for (let i = 0; i < CONNECTIONS; i++) closers.push(await open());
  await new Promise((r) => setTimeout(r, HOLD_SECONDS * 1000));
  const held = await memory();
  console.error(`${name}: ${before.rss} -> ${held.rss} MiB`);
  for (const close of closers) close();
  await new Promise((r) => setTimeout(r, 1_000));
  const perConnection = Math.round(((held.rss - before.rss) * 1024) / CONNECTIONS);
  rows.push(
    `| ${name} | ${CONNECTIONS} | ${before.rss} | ${held.rss} | ${held.external} | ${perConnection} |`,
  );
}

await measure('HTTP/1.1 download, client reads nothing', async () => {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
  socket.once('data', () => socket.pause()); // the response starts; then the client stops reading
  return () => socket.destroy();
});

/** DRIBBLE is one connection's worth of request: HEADERS, then 1-byte DATA frames filling its 64 KiB window. */
const DRIBBLE = Buffer.concat([
  frame(FRAME.HEADERS, 0x4, 1, requestBlock('x', '/upload')),
  ...Array.from({ length: 60_000 }, () => frame(FRAME.DATA, 0, 1, Buffer.from('x'))),
]);

await measure('HTTP/2 upload of 1-byte DATA frames (60,000), slow upstream', async () => {
  // Raw frames: a client library would coalesce the writes into larger DATA frames.
  const h2 = await RawH2.open(port);
  h2.write(DRIBBLE);
  return () => h2.close();
});

portico.child.kill('SIGTERM');
backend.close();
backend.closeAllConnections();
console.log(`slow readers: ${CONNECTIONS} connections each, held ${HOLD_SECONDS} s`);
console.log(
  '| case | connections | RSS MiB before | RSS MiB held | external MiB held | KiB per connection |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
