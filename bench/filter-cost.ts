/**
 * What a route's filters cost: the same build with a route without filters and with three (request
 * header rules, response header rules, a rewrite), measured in alternating pairs so the drift of a noisy
 * machine falls on both alike.
 *
 *   node --conditions=development bench/filter-cost.ts [--pairs 8] [--seconds 5]
 *
 * A small Node origin and wrk (`-t1 -c50`, keep-alive, 5-byte responses) run on CPU 0, Portico on CPU 1.
 * Each run is 2 s of warm-up then `seconds` measured; the figure is Portico's CPU microseconds per request
 * (user + sys from /proc). Printed: every pair, then the median and the sum of each side. Needs Linux,
 * `taskset` and wrk (`bench/setup.sh`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { configFile, freePort, startPorticoChild } from './portico-child.ts';

const option = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const PAIRS = Number(option('pairs', '8'));
const SECONDS = Number(option('seconds', '5'));

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function wrk(url: string, seconds: number): number {
  const out = execFileSync('taskset', ['-c', '0', 'wrk', '-t1', '-c50', `-d${seconds}s`, url]).toString();
  return Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
}

function porticoConfig(name: string, originPort: number, filters: boolean): string {
  const route = [
    '  - paths: [{ path: /, type: Prefix, service: origin }]',
    ...(filters
      ? [
          '    rewriteTarget: /',
          '    requestHeaders: { set: { x-bench: "1" }, remove: [x-debug] }',
          '    responseHeaders: { add: { x-served-by: portico }, remove: [x-powered-by] }',
        ]
      : []),
  ];
  return configFile(
    `filter-cost-${name}`,
    [
      'listeners: [{ name: bench, address: 127.0.0.1, port: 0 }]',
      'routes:',
      ...route,
      `services: [{ name: origin, endpoints: [{ address: 127.0.0.1, port: ${originPort} }] }]`,
      '',
    ].join('\n'),
  );
}

async function measure(config: string): Promise<number> {
  const portico = await startPorticoChild(config);
  execFileSync('taskset', ['-pc', '1', String(portico.child.pid)]);
  const url = `http://127.0.0.1:${portico.ports[0]}/`;
  try {
    wrk(url, 2);
    const before = cpuSeconds(portico.child.pid!);
    const requests = wrk(url, SECONDS);
    return ((cpuSeconds(portico.child.pid!) - before) * 1e6) / Math.max(1, requests);
  } finally {
    portico.child.kill('SIGKILL');
  }
}

const originPort = await freePort();
const origin: ChildProcess = spawn(
  'taskset',
  [
    '-c',
    '0',
    process.execPath,
    '-e',
    `require('node:http').createServer((q, r) => r.end('hello')).listen(${originPort}, '127.0.0.1')`,
  ],
  { stdio: 'ignore' },
);
process.on('exit', () => origin.kill('SIGKILL'));
await new Promise((resolve) => setTimeout(resolve, 500));

const none = porticoConfig('none', originPort, false);
const three = porticoConfig('three', originPort, true);
const rows: [number, number][] = [];
console.log(
  `filter cost: ${PAIRS} alternating pairs, ${SECONDS} s each, CPU us per request (node ${process.version})\n`,
);
console.log('| pair | no filters | three filters |');
console.log('|---:|---:|---:|');
for (let i = 0; i < PAIRS; i++) {
  const a = await measure(none);
  const b = await measure(three);
  rows.push([a, b]);
  console.log(`| ${i + 1} | ${a.toFixed(1)} | ${b.toFixed(1)} |`);
}
const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
const a = rows.map((r) => r[0]);
const b = rows.map((r) => r[1]);
console.log(`| median | ${median(a).toFixed(1)} | ${median(b).toFixed(1)} |`);
console.log(`| sum | ${sum(a).toFixed(0)} | ${sum(b).toFixed(0)} |`);
console.log(
  `\nthree filters / none: ${(median(b) / median(a)).toFixed(3)} by medians, ${(sum(b) / sum(a)).toFixed(3)} by sums`,
);
origin.kill('SIGKILL');
