import { createServer } from 'node:http';
import { constants, connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { option } from './options.ts';
import { configFile, jsonFromChild, startPorticoChild } from './portico-child.ts';

const ATTACKERS = option('attackers', 15);
const SECONDS = option('seconds', 3);
const CLIENTS = option('clients', 10);
/** STREAMS_PER_BURST is how many streams an attacker opens and cancels before yielding to the event loop. */
const STREAMS_PER_BURST = 50;
const SELF = fileURLToPath(import.meta.url);

interface AttackTotals {
  streams: number;
  sessions: number;
  failedSessions: number;
}

/** attack runs `attackers` reconnecting attackers against `url` until `deadline`. */
async function attack(url: string, attackers: number, deadline: number): Promise<AttackTotals> {
  const totals: AttackTotals = { streams: 0, sessions: 0, failedSessions: 0 };
  const attacker = async () => {
    while (Date.now() < deadline) {
      totals.sessions++;
      await new Promise<void>((resolve) => {
        const session = h2connect(url);
        let open = true;
        const done = () => {
          if (!open) return;
          open = false;
          session.destroy();
          resolve();
        };
        session.on('error', () => {
          totals.failedSessions++;
          done();
        });
        session.on('close', done);
        session.on('goaway', done);
        const burst = () => {
          if (!open || Date.now() >= deadline) return done();
          for (let i = 0; i < STREAMS_PER_BURST && !session.destroyed && !session.closed; i++) {
            const stream = session.request({ ':path': '/attack' }, { endStream: true });
            stream.on('error', () => {});
            stream.close(constants.NGHTTP2_CANCEL);
            totals.streams++;
          }
          setImmediate(burst);
        };
        session.once('connect', burst);
      });
    }
  };
  await Promise.all(Array.from({ length: attackers }, attacker));
  return totals;
}

if (process.argv.includes('--attack')) {
  const url = process.argv[process.argv.indexOf('--attack') + 1]!;
  console.log(JSON.stringify(await attack(url, ATTACKERS, Date.now() + SECONDS * 1000)));
  process.exit(0);
}

let upstreamConnects = 0;
const backend = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
backend.on('connection', () => upstreamConnects++);
await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
const backendPort = (backend.address() as AddressInfo).port;

const config = configFile(
  'rapid-reset',
  `listeners: [{ name: edge, address: 127.0.0.1, port: 0, h2c: true }]
routes: [{ paths: [{ path: /, service: s }] }]
services: [{ name: s, endpoints: [{ address: 127.0.0.1, port: ${backendPort} }] }]
`,
);
const portico = await startPorticoChild(config);
const port = portico.ports[0]!;
const url = `http://127.0.0.1:${port}`;

/** attackProcess runs the attackers in a child process and returns what they did. */
function attackProcess(): Promise<AttackTotals> {
  const args = [SELF, '--attack', url, '--attackers', String(ATTACKERS), '--seconds', String(SECONDS)];
  return jsonFromChild<AttackTotals>(args);
}

interface RunFigures {
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  upstreamConnects: number;
  attack: AttackTotals;
}

/** run sends keep-alive requests from CLIENTS connections for SECONDS, under attack when `attacked`. */
async function run(attacked: boolean): Promise<RunFigures> {
  upstreamConnects = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const pool = new Pool(url, { connections: CLIENTS });
  const latencies: number[] = [];
  let errors = 0;
  const attacking = attacked ? attackProcess() : undefined;
  const client = async () => {
    while (Date.now() < deadline) {
      const started = performance.now();
      try {
        const res = await pool.request({ path: '/normal', method: 'GET' });
        await res.body.text();
        latencies.push(performance.now() - started);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const attack = (await attacking) ?? { streams: 0, sessions: 0, failedSessions: 0 };
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.floor(q * (latencies.length - 1))] ?? 0) * 100) / 100;
  return { requests: latencies.length, errors, p50: at(0.5), p99: at(0.99), upstreamConnects, attack };
}

const quiet = await run(false);
const attacked = await run(true);
portico.child.kill('SIGTERM');
backend.close();
backend.closeAllConnections();

console.log(
  `rapid reset: ${ATTACKERS} reconnecting attackers, ${CLIENTS} keep-alive clients, ${SECONDS} s per run`,
);
console.log(
  '| run | client requests | errors | p50 ms | p99 ms | upstream connects | attack streams | attack sessions |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, r] of [
  ['quiet', quiet],
  ['attacked', attacked],
] as const) {
  console.log(
    `| ${name} | ${r.requests} | ${r.errors} | ${r.p50} | ${r.p99} | ${r.upstreamConnects} | ${r.attack.streams} | ${r.attack.sessions} (${r.attack.failedSessions} failed) |`,
  );
}
