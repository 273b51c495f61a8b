/**
 * How fast Portico starts, from its build (`dist/`, as it ships):
 *
 *   pnpm bench:startup [--runs 7]
 *
 * For each of `--runs` runs it measures, from spawn to the moment in question: `portico --version`
 * exiting; `portico run --config` (one listener, one route to a local origin) answering its first
 * request (the script connects every 2 ms until a request gets 200); and a bare `node -e 0` for the
 * floor. It prints the median and the range in milliseconds. Bounded: each run gives up after 10 s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, shippedNodeFlags } from './portico-child.ts';

const MAIN = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
const i = process.argv.indexOf('--runs');
const RUNS = i > 0 ? Number(process.argv[i + 1]) : 7;
const FLAGS = shippedNodeFlags(MAIN);

/** exited resolves with the ms from spawn to exit of `node <args>`. */
function timeToExit(args: string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve(performance.now() - started));
  });
}

/** ok resolves true when GET http://127.0.0.1:port/ answers 200. */
function ok(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** timeToFirstRequest spawns `portico run` and resolves with the ms until a request through it got 200. */
async function timeToFirstRequest(config: string, port: number): Promise<number> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...FLAGS, MAIN, 'run', '--config', config], {
    stdio: 'ignore',
  });
  try {
    while (performance.now() - started < 10_000) {
      if (await ok(port)) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error('portico did not answer within 10 s');
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

function summary(name: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${name.padEnd(34)} ${median.toFixed(0).padStart(6)} ms  (${sorted[0]!.toFixed(0)}-${sorted.at(-1)!.toFixed(0)})`;
}

const origin = createServer((_req, res) => res.end('ok'));
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
const dir = mkdtempSync(join(tmpdir(), 'portico-startup-'));
const port = await freePort();
const config = join(dir, 'portico.yaml');
writeFileSync(
  config,
  `listeners:\n  - { name: web, address: 127.0.0.1, port: ${port} }\n` +
    `routes:\n  - paths: [{ path: /, service: origin }]\n` +
    `services:\n  - name: origin\n    endpoints: [{ address: 127.0.0.1, port: ${(origin.address() as AddressInfo).port} }]\n`,
);
const floor: number[] = [];
const version: number[] = [];
const firstRequest: number[] = [];
for (let run = 0; run < RUNS; run++) {
  floor.push(await timeToExit(['-e', '0']));
  version.push(await timeToExit([...FLAGS, MAIN, '--version']));
  firstRequest.push(await timeToFirstRequest(config, port));
}
console.log(`startup, ${RUNS} runs, median (min-max), from spawn:`);
console.log(summary('node -e 0 (the floor)', floor));
console.log(summary('portico --version', version));
console.log(summary('portico run: first request served', firstRequest));
origin.close();
rmSync(dir, { recursive: true, force: true });
