/**
 * memory: what Portico holds resident before any traffic, beside a bare Node process.
 *
 *   pnpm bench:memory [--main /path/to/other/checkout/packages/cli/dist/main.js]
 *
 * Starts the built binary (`dist/`, with the flags it ships with) on a plain HTTP listener, then on an
 * HTTPS one, then with `--workers 2`, waits for each to serve, and prints VmRSS of every process (the
 * primary and each worker) and of `node -e` as the floor. Under load the figures are `pnpm bench`'s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPorticoChild } from './portico-child.ts';

const mainAt = process.argv.indexOf('--main');
const MAIN =
  mainAt > 0
    ? process.argv[mainAt + 1]!
    : fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'portico-memory-'));

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 2_000));

async function measure(name: string, yaml: string, args: string[] = []): Promise<string> {
  const config = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(config, yaml);
  const { child } = await startPorticoChild(config, { main: MAIN, args });
  await settle();
  const pids = [child.pid!, ...childrenOf(child.pid!)];
  const figures = pids.map(rssMiB);
  child.kill('SIGKILL');
  const label =
    pids.length > 1
      ? `${figures[0]!.toFixed(1)} (primary), ${figures
          .slice(1)
          .map((f) => f.toFixed(1))
          .join(', ')} (workers)`
      : figures[0]!.toFixed(1);
  return `| ${name} | ${label} |`;
}

const floor = await new Promise<number>((resolve) => {
  const child: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
  setTimeout(() => {
    const rss = rssMiB(child.pid!);
    child.kill('SIGKILL');
    resolve(rss);
  }, 1_000);
});
const service =
  'services: [{ name: web, endpoints: [{ address: 127.0.0.1, port: 9 }] }]\nroutes: [{ paths: [{ path: /, service: web }] }]\n';
const rows = [
  `| node -e (the floor) | ${floor.toFixed(1)} |`,
  await measure('portico, plain HTTP', `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\n${service}`),
  await measure(
    'portico, HTTPS (default certificate)',
    `listeners: [{ name: web, address: 127.0.0.1, port: 0, protocol: https, tls: {} }]\n${service}`,
  ),
  await measure(
    'portico --workers 2, plain HTTP',
    `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\n${service}`,
    ['--workers', '2'],
  ),
];
console.log(
  `\nresident memory before any traffic (VmRSS, MiB), ${MAIN}, ${new Date().toISOString()}, Node ${process.version}\n`,
);
console.log('| process | RSS MiB |\n|---|---:|');
for (const row of rows) console.log(row);
