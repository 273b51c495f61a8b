/**
 * Helpers the load scripts share: Portico in a process of its own, a free port, and a helper process
 * whose result comes back as one JSON line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * SOURCE_MAIN is Portico's entry point run from source; PORTICO_MAIN points at another checkout's, to
 * compare builds.
 */
export const SOURCE_MAIN =
  process.env.PORTICO_MAIN ?? fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url));

/**
 * shippedNodeFlags are the Node flags `main`'s shebang gives Portico (`#!/usr/bin/env -S node <flags>`),
 * so that a load script runs it as it ships; PORTICO_NODE_FLAGS replaces them ('' for none, to compare).
 */
export function shippedNodeFlags(main: string): string[] {
  const override = process.env.PORTICO_NODE_FLAGS;
  if (override !== undefined) return override.split(' ').filter((f) => f !== '');
  const first = readFileSync(main, 'utf8').split('\n', 1)[0] ?? '';
  const shebang = /^#!\/usr\/bin\/env -S node (.*)$/.exec(first);
  return shebang === null ? [] : shebang[1]!.split(' ').filter((f) => f !== '');
}

/** PorticoChild is Portico running in its own process, with the ports its listeners bound. */
export interface PorticoChild {
  readonly child: ChildProcess;
  /** ports are the listeners' ports, in the order the config lists them. */
  readonly ports: number[];
}

/**
 * startPorticoChild runs `portico run --config <config>` (from `main`, source by default) and resolves
 * once `listeners` listeners have logged their ports. The process is killed when this one exits.
 */
export async function startPorticoChild(
  config: string,
  options: { main?: string; listeners?: number; args?: string[] } = {},
): Promise<PorticoChild> {
  const main = options.main ?? SOURCE_MAIN;
  const flags = shippedNodeFlags(main);
  const node = main.endsWith('.ts') ? [...flags, '--conditions=development', main] : [...flags, main];
  const child = spawn(process.execPath, [...node, 'run', '--config', config, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  const wanted = options.listeners ?? 1;
  const ports = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('portico did not start')), 10_000);
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const found = [...output.matchAll(/"port":(\d+)/g)].map((m) => Number(m[1]));
      if (found.length >= wanted) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  child.stdout!.resume(); // keep draining its (quiet) log
  return { child, ports };
}

/** configFile writes `yaml` to a new temporary directory as `portico.yaml` and returns its path. */
export function configFile(name: string, yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), `portico-${name}-`)), 'portico.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** freePort finds a port nothing listens on (for an admin API, whose port is not logged). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** jsonFromChild runs node with `args` (source conditions on) and resolves with the JSON it printed. */
export function jsonFromChild<T>(args: string[]): Promise<T> {
  const child = spawn(process.execPath, ['--conditions=development', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  return new Promise((resolve) => child.on('exit', () => resolve(JSON.parse(output) as T)));
}
