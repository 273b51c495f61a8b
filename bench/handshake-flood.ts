import { createServer } from 'node:http';
import { type AddressInfo, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { option } from './options.ts';
import { configFile, jsonFromChild, startPorticoChild } from './portico-child.ts';

const CAP = option('cap', 0);
const FLOODERS = option('flooders', 64);
const SECONDS = option('seconds', 4);
const CLIENTS = option('clients', 10);
const SELF = fileURLToPath(import.meta.url);
/** BURST makes the flood connect all its sockets first and then start TLS on all of them at once. */
const BURST = process.argv.includes('--burst');

if (process.argv.includes('--flood')) {
  const port = Number(process.argv[process.argv.indexOf('--flood') + 1]);
  const deadline = Date.now() + SECONDS * 1000;
  let handshakes = 0;
  const flooder = async () => {
    while (Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port,
          rejectUnauthorized: false,
          servername: 'flood.example',
        });
        socket.once('secureConnect', () => {
          handshakes++;
          socket.destroy();
          resolve();
        });
        socket.once('error', () => resolve());
      });
    }
  };
  /** burst connects FLOODERS sockets, then starts TLS on all of them at once: their ClientHellos land together. */
  const burst = async () => {
    while (Date.now() < deadline) {
      const sockets = await Promise.all(
        Array.from(
          { length: FLOODERS },
          () =>
            new Promise<Socket>((resolve) => {
              const socket = netConnect({ host: '127.0.0.1', port }, () => resolve(socket));
              socket.on('error', () => resolve(socket));
            }),
        ),
      );
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) => {
              const tls = tlsConnect({ socket, rejectUnauthorized: false, servername: 'flood.example' });
              tls.once('secureConnect', () => {
                handshakes++;
                tls.destroy();
                resolve();
              });
              tls.once('error', () => resolve());
            }),
        ),
      );
    }
  };
  if (process.argv.includes('--burst')) await burst();
  else await Promise.all(Array.from({ length: FLOODERS }, flooder));
  console.log(JSON.stringify({ handshakes }));
  process.exit(0);
}

const backend = createServer((req, res) => {
  req.resume();
  res.end('ok');
});
await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
const backendPort = (backend.address() as AddressInfo).port;
const config = configFile(
  'handshake-flood',
  `listeners: [{ name: tls, address: 127.0.0.1, port: 0, protocol: https${CAP > 0 ? `, maxConcurrentHandshakes: ${CAP}` : ''} }]
routes: [{ paths: [{ path: /, service: s }] }]
services: [{ name: s, endpoints: [{ address: 127.0.0.1, port: ${backendPort} }] }]
`,
);
const portico = await startPorticoChild(config);
const port = portico.ports[0]!;

function flood(): Promise<{ handshakes: number }> {
  const args = [SELF, '--flood', String(port), '--flooders', String(FLOODERS), '--seconds', String(SECONDS)];
  return jsonFromChild(BURST ? [...args, '--burst'] : args);
}

async function run(flooded: boolean) {
  const pool = new Pool(`https://127.0.0.1:${port}`, {
    connections: CLIENTS,
    connect: { rejectUnauthorized: false },
  });
  for (let i = 0; i < CLIENTS * 2; i++)
    await pool.request({ path: '/', method: 'GET' }).then((r) => r.body.text()); // warm: handshakes done
  const deadline = Date.now() + SECONDS * 1000;
  const flooding = flooded ? flood() : undefined;
  const latencies: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < deadline) {
        const started = performance.now();
        try {
          await pool.request({ path: '/', method: 'GET' }).then((r) => r.body.text());
          latencies.push(performance.now() - started);
        } catch {
          errors++;
        }
      }
    }),
  );
  const { handshakes } = (await flooding) ?? { handshakes: 0 };
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.floor(q * (latencies.length - 1))] ?? 0) * 100) / 100;
  return { requests: latencies.length, errors, p50: at(0.5), p99: at(0.99), handshakes };
}

const quiet = await run(false);
const flooded = await run(true);
portico.child.kill('SIGTERM');
backend.close();
backend.closeAllConnections();
console.log(
  `handshake flood${BURST ? ' (bursts)' : ''}: ${FLOODERS} flooders, ${CLIENTS} keep-alive TLS clients, ${SECONDS} s per run, maxConcurrentHandshakes ${CAP > 0 ? CAP : 'unset'}`,
);
console.log('| run | client requests | errors | p50 ms | p99 ms | flood handshakes |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, r] of [
  ['quiet', quiet],
  ['flooded', flooded],
] as const)
  console.log(`| ${name} | ${r.requests} | ${r.errors} | ${r.p50} | ${r.p99} | ${r.handshakes} |`);
