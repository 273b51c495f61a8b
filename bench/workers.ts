/**
 * Worker processes or worker threads? The experiment behind the multi-core design: Portico's data plane
 * run as N processes, or as N threads of one process, every proxy bound to one port with SO_REUSEPORT,
 * in front of the benchmark origin (nginx, one worker), loaded by wrk.
 *
 *   pnpm bench:workers [--workers 1,2] [--duration 8] [--connections 50]
 *
 * For each shape and count it prints requests/s, the data plane's CPU microseconds per request (user +
 * sys of its processes, from /proc), its RSS in total and per worker, and what a crash of one worker
 * costs: wrk runs 4 s, one worker dies after 1 s (`kill -9` of a process; an uncaught exception in a
 * thread), and the table shows the errors wrk saw and whether the others kept serving. Needs Linux, wrk
 * and nginx (`bench/setup.sh`); runs Portico from its build (`dist/`, so `pnpm bench:workers` builds).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shippedNodeFlags } from './portico-child.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PLANE = fileURLToPath(new URL('./workers/data-plane.ts', import.meta.url));
const MAIN = join(ROOT, 'packages/cli/dist/main.js');
const PORT = 18_090;
const ORIGIN = [19_011, 19_012];

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const COUNTS = option('workers', '1,2').split(',').map(Number);
const DURATION = Number(option('duration', '8'));
const CONNECTIONS = Number(option('connections', '50'));
const CLOCK_TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const run = mkdtempSync(join(tmpdir(), 'portico-workers-'));
mkdirSync(join(run, 'tmp'));
mkdirSync(join(run, 'www'));
const origin = readFileSync(join(ROOT, 'bench/proxy/conf/backend-nginx.conf'), 'utf8')
  .replaceAll('{{RUN}}', run)
  .replaceAll('{{B1PORT}}', String(ORIGIN[0]))
  .replaceAll('{{B2PORT}}', String(ORIGIN[1]));
writeFileSync(join(run, 'origin.conf'), origin);
const nginx = spawn('nginx', ['-g', 'daemon off;', '-c', join(run, 'origin.conf')], { stdio: 'ignore' });
const config = join(run, 'portico.json');
writeFileSync(
  config,
  JSON.stringify({
    listeners: [{ name: 'bench', address: '127.0.0.1', port: PORT }],
    routes: [{ paths: [{ path: '/', service: 'origin' }] }],
    services: [{ name: 'origin', endpoints: ORIGIN.map((port) => ({ address: '127.0.0.1', port })) }],
  }),
);

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** DataPlane is the workers of one shape: their processes (one for threads). */
interface DataPlane {
  readonly processes: ChildProcess[];
  crashOne(): void;
  stop(): void;
}

async function start(shape: 'processes' | 'threads', count: number): Promise<DataPlane> {
  const node = [...shippedNodeFlags(MAIN), PLANE, config];
  const processes =
    shape === 'processes'
      ? Array.from({ length: count }, () => spawn(process.execPath, [...node, '0'], { stdio: 'pipe' }))
      : [spawn(process.execPath, [...node, String(count)], { stdio: 'pipe' })];
  await Promise.all(
    processes.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.stdout!.setEncoding('utf8').on('data', (text: string) => {
            if (text.includes('ready')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it was ready`)));
        }),
    ),
  );
  for (const child of processes) child.removeAllListeners('exit');
  return {
    processes,
    crashOne: () => {
      if (shape === 'processes') processes[0]!.kill('SIGKILL');
      else processes[0]!.stdin!.write('crash 0\n');
    },
    stop: () => {
      for (const child of processes) child.kill('SIGKILL');
    },
  };
}

/** cpuSeconds is the user + sys time of the processes so far. */
function cpuSeconds(processes: ChildProcess[]): number {
  let ticks = 0;
  for (const child of processes) {
    try {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // It died: what it used is gone with it.
    }
  }
  return ticks / CLOCK_TICK;
}

function rssMiB(processes: ChildProcess[]): number {
  let kib = 0;
  for (const child of processes) {
    try {
      kib += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]);
    } catch {
      // It died.
    }
  }
  return kib / 1024;
}

interface Wrk {
  requests: number;
  errors: number;
  seconds: number;
}

function wrk(seconds: number): Promise<Wrk> {
  return new Promise((resolve) => {
    const child = spawn('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, `http://127.0.0.1:${PORT}/`]);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      out += t;
    });
    child.on('exit', () => {
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const errors = non2xx + (socket === null ? 0 : socket.slice(1).reduce((n, v) => n + Number(v), 0));
      resolve({ requests, errors, seconds });
    });
  });
}

await waitForPort(ORIGIN[0]!);
const rows: string[] = [];
for (const shape of ['processes', 'threads'] as const) {
  for (const count of COUNTS) {
    const plane = await start(shape, count);
    await waitForPort(PORT);
    await wrk(2); // warm-up
    const cpuBefore = cpuSeconds(plane.processes);
    const load = await wrk(DURATION);
    const cpu = cpuSeconds(plane.processes) - cpuBefore;
    const rss = rssMiB(plane.processes);
    const during = wrk(4);
    await new Promise((r) => setTimeout(r, 1_000));
    plane.crashOne();
    const crash = await during;
    const alive = plane.processes.filter((p) => p.exitCode === null && p.signalCode === null).length;
    const after = await wrk(1);
    plane.stop();
    rows.push(
      `| ${shape} | ${count} | ${Math.round(load.requests / load.seconds).toLocaleString('en-US')} | ${((cpu * 1e6) / load.requests).toFixed(1)} | ${rss.toFixed(1)} / ${(rss / count).toFixed(1)} | ${crash.errors} of ${crash.requests} | ${alive} of ${plane.processes.length} processes alive, ${Math.round(after.requests).toLocaleString('en-US')} requests in the next 1 s |`,
    );
    await new Promise((r) => setTimeout(r, 500));
  }
}
nginx.kill();
console.log(
  `Data plane as worker processes or worker threads (node ${process.version}, ${CONNECTIONS} connections, ${DURATION} s)`,
);
console.log(
  '| shape | workers | requests/s | CPU us/request | RSS MiB total / per worker | errors when one worker dies | after |',
);
console.log('|---|---:|---:|---:|---:|---:|---|');
for (const row of rows) console.log(row);
