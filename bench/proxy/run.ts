/**
 * Proxy benchmark: Portico beside nginx, HAProxy and the Node proxies people use, one run, same origin.
 *
 *   pnpm bench [--duration 10] [--only portico,nginx] [--scenarios small,c1,big,text] [--reps 1]
 *   pnpm bench --mode l4        # TCP proxying beside HAProxy mode tcp: 1 MiB transfers, new connections
 *   pnpm bench --mode h2        # HTTP/2 over TLS (h2load, 10 connections x 10 streams) beside nginx, HAProxy
 *   PORTICO_BEFORE=../old pnpm bench ...   # also measures that (built) checkout: portico-before, -h2-before
 *   pnpm bench --workers 1,2 --only portico,nginx   # also Portico and nginx with 2 workers (portico-w2, nginx-w2)
 *
 * The origin (nginx, one worker; `GET /` -> 5 bytes, `GET /1m` -> 1 MiB, `GET /page.html` -> 16 KiB HTML), wrk and this script run on CPU 0;
 * the proxy under test on CPU 1. For each proxy and scenario it reports the proxy's own CPU microseconds
 * per request (user + sys of its process tree, from /proc, over the wrk run: the steadiest figure on a
 * small VM), requests/s, p50/p99 latency and RSS. Needs Linux, `taskset`, wrk and nginx; HAProxy is used
 * when installed, h2load (nghttp2-client) for `--mode h2` (`bench/setup.sh` installs them all). Portico runs from its build (`dist/`, as installed
 * from npm), so `pnpm bench` builds first.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATEGORIES, CATEGORY_TITLES, type Category, readSplit, startPerf, stopPerf } from '../perf-split.ts';
import { shippedNodeFlags } from '../portico-child.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT_CPU = process.env['CLIENT_CPU'] ?? '0';
const PROXY_CPU = process.env['PROXY_CPU'] ?? '1';
const PORT = 18080;
const B1PORT = 19001;
const B2PORT = 19002;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const DURATION = Number(option('duration', '10'));
const REPS = Number(option('reps', '1'));
const ONLY = option('only', '');
const MODE = option('mode', 'l7');
const DEFAULT_SCENARIOS: Record<string, string> = {
  l7: 'small,c1,big',
  l4: 'big,conns',
  tls: 'handshake,tls-ka',
  h2: 'h2',
};
const SCENARIOS = option('scenarios', DEFAULT_SCENARIOS[MODE] ?? 'small').split(',');

const RUN = join(tmpdir(), `portico-bench-${process.pid}`);
mkdirSync(join(RUN, 'tmp'), { recursive: true });
mkdirSync(join(RUN, 'www'), { recursive: true });
if (MODE === 'tls' || MODE === 'h2') {
  // One ECDSA P-256 certificate for every TLS slot, as the peers' anchors were measured with.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-days',
      '2',
      '-subj',
      '/CN=bench.example',
      '-keyout',
      join(RUN, 'key.pem'),
      '-out',
      join(RUN, 'cert.pem'),
    ]),
    { stdio: 'ignore' },
  );
  writeFileSync(
    join(RUN, 'bundle.pem'),
    readFileSync(join(RUN, 'cert.pem'), 'utf8') + readFileSync(join(RUN, 'key.pem'), 'utf8'),
  );
}
writeFileSync(join(RUN, 'www', '1m'), Buffer.alloc(1024 * 1024, 0x61));
// A 16 KiB HTML page for the `text` scenario (compressible, as real pages are: about 5:1 with gzip).
writeFileSync(
  join(RUN, 'www', 'page.html'),
  Array.from({ length: 400 }, (_, i) => `<li class="item"><a href="/items/${i}">Item ${i}</a></li>\n`)
    .join('')
    .padEnd(16 * 1024, ' ')
    .slice(0, 16 * 1024),
);

function render(template: string, out: string): string {
  const text = readFileSync(join(HERE, 'conf', template), 'utf8')
    .replaceAll('"{{PORT}}"', String(PORT)) // quoted in YAML templates, so they stay valid YAML
    .replaceAll('"{{B1PORT}}"', String(B1PORT))
    .replaceAll('"{{B2PORT}}"', String(B2PORT))
    .replaceAll('{{RUN}}', RUN)
    .replaceAll('{{PORT}}', String(PORT))
    .replaceAll('{{B1PORT}}', String(B1PORT))
    .replaceAll('{{B2PORT}}', String(B2PORT));
  const path = join(RUN, out);
  writeFileSync(path, text);
  return path;
}

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Slot {
  readonly name: string;
  /**
   * mode is the bench the slot belongs to: HTTP (`l7`), TCP (`l4`), HTTPS termination (`tls`) or HTTP/2
   * over TLS (`h2`).
   */
  readonly mode: 'l7' | 'l4' | 'tls' | 'h2';
  /** command starts the proxy in the foreground on 127.0.0.1:PORT. */
  readonly command: () => string[];
  readonly available: () => boolean;
  /** cpus are the CPUs the proxy is pinned to (taskset list); PROXY_CPU when not set. */
  readonly cpus?: string;
}

const nodeBin = process.execPath;
/**
 * BEFORE is another checkout of Portico, built (`PORTICO_BEFORE=/path/to/checkout`), measured beside this
 * one as `portico-before`, `portico-h2-before`, `portico-tcp-before` and `portico-tls-before`: before/after
 * figures from one run.
 */
const BEFORE = process.env['PORTICO_BEFORE'];
/**
 * PROFILE (`--profile <dir>`) runs the Portico slots under `node --cpu-prof` (one profile per slot,
 * warm-up included), stops them gracefully so the profile is written, and prints its summary
 * (bench/profile-summary.ts): profile before and after a change with one flag.
 */
const PROFILE = option('profile', '');
/**
 * PERF (`--perf <dir>`) records every measured run of every slot with Linux `perf` (cpu-clock samples of
 * the proxy's processes, kernel included) and prints where each proxy's CPU time went, in microseconds
 * per request per category (bench/perf-split.ts): the same split for nginx, HAProxy and Portico.
 */
const PERF = option('perf', '');
if (PERF !== '') mkdirSync(PERF, { recursive: true });
const porticoRun = (root: string, conf: string) => [
  nodeBin,
  ...shippedNodeFlags(join(root, 'packages/cli/dist/main.js')),
  ...(PROFILE === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`]),
  join(root, 'packages/cli/dist/main.js'),
  'run',
  '--config',
  render(conf, conf),
  '--log-level',
  'warn',
];
/** nodePeer runs a Node peer from bench/proxy/peers with `options`, then the port and the two origins. */
const nodePeer = (script: string, ...options: string[]) => [
  nodeBin,
  join(HERE, 'peers', script),
  ...options,
  String(PORT),
  `127.0.0.1:${B1PORT}`,
  `127.0.0.1:${B2PORT}`,
];
const SLOTS: Slot[] = [
  {
    name: 'portico-before',
    mode: 'l7',
    command: () => porticoRun(BEFORE!, 'portico.yaml'),
    available: () => BEFORE !== undefined,
  },
  {
    name: 'portico-filters',
    mode: 'l7',
    command: () => porticoRun(ROOT, 'portico-filters.yaml'),
    available: () => true,
  },
  {
    name: 'portico-policies',
    mode: 'l7',
    command: () => porticoRun(ROOT, 'portico-policies.yaml'),
    available: () => true,
  },
  {
    name: 'portico-h2-before',
    mode: 'h2',
    command: () => porticoRun(BEFORE!, 'portico-h2.yaml'),
    available: () => BEFORE !== undefined,
  },
  {
    name: 'portico',
    mode: 'l7',
    command: () => porticoRun(ROOT, 'portico.yaml'),
    available: () => true,
  },
  {
    name: 'nginx',
    mode: 'l7',
    command: () => ['nginx', '-g', 'daemon off;', '-c', render('nginx-proxy.conf', 'nginx-proxy.conf')],
    available: () => has('nginx'),
  },
  {
    name: 'haproxy',
    mode: 'l7',
    command: () => ['haproxy', '-f', render('haproxy.cfg', 'haproxy.cfg')],
    available: () => has('haproxy'),
  },
  {
    name: 'http-proxy',
    mode: 'l7',
    command: () => nodePeer('node-http-proxy.js'),
    available: () => existsSync(join(ROOT, 'bench/node_modules/http-proxy')),
  },
  {
    name: 'fastify-http-proxy',
    mode: 'l7',
    command: () => [nodeBin, join(HERE, 'peers/fastify-http-proxy.js'), String(PORT), `127.0.0.1:${B1PORT}`],
    available: () => existsSync(join(ROOT, 'bench/node_modules/@fastify/http-proxy')),
  },
  {
    // Not a peer people run: the cost floor of any proxy on Node streams (see peers/node-floor.js).
    name: 'node-floor',
    mode: 'l7',
    command: () => nodePeer('node-floor.js'),
    available: () => true,
  },
  {
    // The floor of HTTPS on Node: node-floor terminating TLS with node:tls.
    name: 'node-floor-tls',
    mode: 'tls',
    command: () => nodePeer('node-floor.js', '--tls', join(RUN, 'cert.pem'), join(RUN, 'key.pem')),
    available: () => true,
  },
  {
    // The usual L4 proxy on Node, sockets piped both ways (peers/node-pipe-tcp.js): not a floor.
    name: 'node-pipe-tcp',
    mode: 'l4',
    command: () => nodePeer('node-pipe-tcp.js'),
    available: () => true,
  },
  {
    name: 'portico-tcp-before',
    mode: 'l4',
    command: () => porticoRun(BEFORE!, 'portico-tcp.yaml'),
    available: () => BEFORE !== undefined,
  },
  {
    name: 'portico-tls-before',
    mode: 'tls',
    command: () => porticoRun(BEFORE!, 'portico-tls.yaml'),
    available: () => BEFORE !== undefined,
  },
  {
    name: 'portico-tcp',
    mode: 'l4',
    command: () => porticoRun(ROOT, 'portico-tcp.yaml'),
    available: () => true,
  },
  {
    name: 'portico-tls',
    mode: 'tls',
    command: () => porticoRun(ROOT, 'portico-tls.yaml'),
    available: () => true,
  },
  {
    name: 'nginx-tls',
    mode: 'tls',
    command: () => ['nginx', '-g', 'daemon off;', '-c', render('nginx-tls.conf', 'nginx-tls.conf')],
    available: () => has('nginx'),
  },
  {
    name: 'haproxy-tls',
    mode: 'tls',
    command: () => ['haproxy', '-f', render('haproxy-tls.cfg', 'haproxy-tls.cfg')],
    available: () => has('haproxy'),
  },
  {
    name: 'portico-h2',
    mode: 'h2',
    command: () => porticoRun(ROOT, 'portico-h2.yaml'),
    available: () => true,
  },
  {
    name: 'nginx-h2',
    mode: 'h2',
    command: () => ['nginx', '-g', 'daemon off;', '-c', render('nginx-h2.conf', 'nginx-h2.conf')],
    available: () => has('nginx'),
  },
  {
    name: 'haproxy-h2',
    mode: 'h2',
    command: () => ['haproxy', '-f', render('haproxy-h2.cfg', 'haproxy-h2.cfg')],
    available: () => has('haproxy'),
  },
  {
    name: 'haproxy-tcp',
    mode: 'l4',
    command: () => ['haproxy', '-f', render('haproxy-tcp.cfg', 'haproxy-tcp.cfg')],
    available: () => has('haproxy'),
  },
];

/**
 * WORKERS are the worker counts to measure Portico and nginx with (`--workers 1,2`): for each count above
 * one, `portico-wN` (`portico run --workers N`) and `nginx-wN` (`worker_processes N`), both pinned to the
 * first N CPUs, with wrk and the origin still on CLIENT_CPU (on a 2-core machine they share one).
 */
const WORKERS = option('workers', '1').split(',').map(Number);
for (const count of WORKERS.filter((n) => n > 1)) {
  const cpus = Array.from({ length: count }, (_, i) => i).join(',');
  SLOTS.push(
    {
      name: `portico-w${count}`,
      mode: 'l7',
      command: () => [...porticoRun(ROOT, 'portico.yaml'), '--workers', String(count)],
      available: () => true,
      cpus,
    },
    {
      name: `nginx-w${count}`,
      mode: 'l7',
      command: () => {
        const conf = render('nginx-proxy.conf', `nginx-proxy-w${count}.conf`);
        writeFileSync(
          conf,
          readFileSync(conf, 'utf8').replace('worker_processes 1;', `worker_processes ${count};`),
        );
        return ['nginx', '-g', 'daemon off;', '-c', conf];
      },
      available: () => has('nginx'),
      cpus,
    },
  );
}

function pinned(cpu: string, argv: string[], output: string): ChildProcess {
  return spawn('taskset', ['-c', cpu, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], detached: false }).on(
    'error',
    (error) => {
      console.error(`${output}: ${error.message}`);
    },
  );
}

function treePids(pid: number): number[] {
  const out = [pid];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children.split(/\s+/).filter(Boolean)) out.push(...treePids(Number(child)));
    }
  } catch {
    // the process is gone
  }
  return out;
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of treePids(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / TICKS_PER_SECOND;
}

function rssMiB(pid: number): number {
  let kb = 0;
  for (const p of treePids(pid)) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

/** isListening tells whether something accepts connections on 127.0.0.1:port. */
function isListening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isListening(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** waitForFree waits up to 5 s for a port to be released, so a run never measures a leftover process. */
async function waitForFree(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (!(await isListening(port))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`port ${port} is still in use: a proxy or origin left from an earlier run?`);
}

/**
 * killTree sends SIGKILL to a process and then to the descendants it had, parent first: an nginx or
 * HAProxy master killed after its workers would fork new ones in between. Gone ones are skipped.
 */
function killTree(pid: number): void {
  for (const each of treePids(pid)) {
    try {
      process.kill(each, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

interface WrkResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

function toMs(value: string): number {
  const n = Number.parseFloat(value);
  if (value.endsWith('us')) return n / 1000;
  if (value.endsWith('ms')) return n;
  if (value.endsWith('s')) return n * 1000;
  return n;
}

function wrk(args: string[]): WrkResult {
  const text = execFileSync('taskset', ['-c', CLIENT_CPU, 'wrk', ...args], { encoding: 'utf8' });
  const requests = Number(/(\d+) requests in ([\d.]+)(\w+)/.exec(text)?.[1] ?? 0);
  const span = /(\d+) requests in ([\d.]+)(\w+)/.exec(text);
  const seconds = span ? toMs(`${span[2]}${span[3]}`) / 1000 : 0;
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1];
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests,
    seconds,
    perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0),
    p50ms: toMs(/\s50%\s+([\d.]+\w+)/.exec(text)?.[1] ?? '0'),
    p99ms: toMs(/\s99%\s+([\d.]+\w+)/.exec(text)?.[1] ?? '0'),
    errors:
      Number(errors ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}

/**
 * h2load runs HTTP/2 requests for `seconds` over `connections` connections with `streams` streams each;
 * h2load reports no percentiles, so p50 carries its mean request time and p99 its max.
 */
function h2load(url: string, seconds: number, connections: number, streams: number): WrkResult {
  const text = execFileSync(
    'taskset',
    [
      '-c',
      CLIENT_CPU,
      'h2load',
      '-c',
      String(connections),
      '-m',
      String(streams),
      '-D',
      String(seconds),
      url,
    ],
    { encoding: 'utf8' },
  );
  const done =
    /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(text);
  const finished = /finished in ([\d.]+)(\w+), ([\d.]+) req\/s/.exec(text);
  const times = /time for request:\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)/.exec(text);
  return {
    requests: Number(done?.[2] ?? 0),
    seconds: finished ? toMs(`${finished[1]}${finished[2]}`) / 1000 : 0,
    perSecond: Number(finished?.[3] ?? 0),
    p50ms: toMs(times?.[3] ?? '0'),
    p99ms: toMs(times?.[2] ?? '0'),
    errors: Number(done?.[3] ?? 0) + Number(done?.[4] ?? 0),
  };
}

interface Row {
  slot: string;
  scenario: string;
  cpuUsPerRequest: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  rssMiB: number;
  errors: number;
  mibPerSecond?: number;
  cpuUsPerMiB?: number;
  /** perfUs is the CPU time per request (us) by category, from `--perf`. */
  perfUs?: Record<Category, number>;
}

const SCENARIO_ARGS: Record<string, { path: string; args: string[] }> = {
  small: { path: '/', args: ['-t1', '-c50', `-d${DURATION}s`, '--latency'] },
  c1: { path: '/', args: ['-t1', '-c1', `-d${Math.max(2, Math.round(DURATION / 2))}s`, '--latency'] },
  big: { path: '/1m', args: ['-t1', '-c10', `-d${DURATION}s`, '--latency'] },
  text: {
    path: '/page.html',
    args: ['-t1', '-c10', `-d${DURATION}s`, '--latency', '-H', 'Accept-Encoding: gzip, br'],
  },
  conns: { path: '/', args: ['-t1', '-c50', `-d${DURATION}s`, '--latency', '-H', 'Connection: close'] },
  handshake: { path: '/', args: ['-t1', '-c50', `-d${DURATION}s`, '--latency', '-H', 'Connection: close'] },
  'tls-ka': { path: '/', args: ['-t1', '-c50', `-d${DURATION}s`, '--latency'] },
  h2: { path: '/', args: [] }, // h2load, not wrk: see h2load()
};

async function measure(slot: Slot): Promise<Row[]> {
  await waitForFree(PORT);
  const child = pinned(slot.cpus ?? PROXY_CPU, slot.command(), slot.name);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const rows: Row[] = [];
  try {
    await waitForPort(PORT);
    const url = `${slot.mode === 'tls' || slot.mode === 'h2' ? 'https' : 'http'}://127.0.0.1:${PORT}`;
    const check = execFileSync('curl', ['-sk', `${url}/`]).toString();
    if (check !== 'hello')
      throw new Error(`${slot.name} answered ${JSON.stringify(check)} instead of "hello"`);
    wrk(['-t1', '-c50', '-d3s', `${url}/`]); // warm-up: connections, pools, JIT
    if (slot.mode === 'h2') h2load(`${url}/`, 3, 10, 10); // and the HTTP/2 path's own
    for (const scenario of SCENARIOS) {
      const { path, args } = SCENARIO_ARGS[scenario]!;
      const perfFile = join(PERF, `${slot.name}-${scenario}-${rows.length}-${Date.now()}.data`);
      const perf = PERF === '' ? undefined : startPerf(treePids(child.pid!), perfFile);
      if (perf !== undefined) await new Promise((resolve) => setTimeout(resolve, 300)); // perf attaches
      const cpuBefore = cpuSeconds(child.pid!);
      const result =
        scenario === 'h2' ? h2load(`${url}${path}`, DURATION, 10, 10) : wrk([...args, `${url}${path}`]);
      const cpu = cpuSeconds(child.pid!) - cpuBefore;
      if (perf !== undefined) await stopPerf(perf);
      const row: Row = {
        slot: slot.name,
        scenario,
        cpuUsPerRequest: (cpu * 1e6) / Math.max(1, result.requests),
        perSecond: result.perSecond,
        p50ms: result.p50ms,
        p99ms: result.p99ms,
        rssMiB: rssMiB(child.pid!),
        errors: result.errors,
      };
      if (perf !== undefined) {
        const { shares } = readSplit(perfFile);
        row.perfUs = Object.fromEntries(
          CATEGORIES.map((c) => [c, shares[c] * row.cpuUsPerRequest]),
        ) as Record<Category, number>;
      }
      if (scenario === 'big') {
        row.mibPerSecond = result.perSecond;
        row.cpuUsPerMiB = row.cpuUsPerRequest;
      }
      rows.push(row);
    }
  } catch (error) {
    console.error(`${slot.name}: ${(error as Error).message}\n${stderr.slice(0, 2000)}`);
  } finally {
    if (PROFILE !== '' && slot.name.startsWith('portico')) await profiled(child, slot.name);
    killTree(child.pid!);
  }
  return rows;
}

/** profiled stops a profiled slot with SIGTERM (so Node writes its profile) and prints the profile's summary. */
async function profiled(child: ChildProcess, name: string): Promise<void> {
  const before = new Set(existsSync(PROFILE) ? readdirSync(PROFILE) : []);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Signal the whole tree (workers too), as killTree does.
  for (const pid of treePids(child.pid!)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const file of readdirSync(PROFILE).filter((f) => !before.has(f) && f.endsWith('.cpuprofile'))) {
    console.log(`\n${name} profile:`);
    console.log(
      execFileSync(nodeBin, [join(HERE, '../profile-summary.ts'), join(PROFILE, file), '--top', '15'], {
        encoding: 'utf8',
      }),
    );
  }
}

/** printPerf prints, per scenario, each proxy's CPU time per request split by category (medians). */
function printPerf(slots: Slot[], rows: Row[]): void {
  console.log(
    '## Where the CPU time goes (perf; us per request, or per MiB, handshake or connection as above)\n',
  );
  for (const c of CATEGORIES) console.log(`- ${c}: ${CATEGORY_TITLES[c]}`);
  for (const scenario of SCENARIOS) {
    console.log(
      `\n### ${scenario}\n\n| proxy | ${CATEGORIES.join(' | ')} | total |\n|---|${CATEGORIES.map(() => '---:|').join('')}---:|`,
    );
    for (const slot of slots) {
      const mine = rows.filter((r) => r.slot === slot.name && r.scenario === scenario && r.perfUs);
      if (mine.length === 0) continue;
      const cells = CATEGORIES.map((c) => median(mine.map((r) => r.perfUs![c])).toFixed(1));
      console.log(
        `| ${slot.name} | ${cells.join(' | ')} | ${median(mine.map((r) => r.cpuUsPerRequest)).toFixed(1)} |`,
      );
    }
  }
  console.log('');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  for (const tool of ['taskset', 'wrk', 'nginx', 'curl']) {
    if (!has(tool)) {
      console.error(
        `${tool} is missing: run bench/setup.sh (Debian: apt-get install nginx-light haproxy wrk curl)`,
      );
      process.exit(2);
    }
  }
  await waitForFree(B1PORT);
  await waitForFree(B2PORT);
  const backend = pinned(
    CLIENT_CPU,
    ['nginx', '-g', 'daemon off;', '-c', render('backend-nginx.conf', 'backend.conf')],
    'origin',
  );
  await waitForPort(B1PORT);
  // `--only portico` takes its worker variants too (portico-w2, ...).
  const wanted = (name: string) =>
    ONLY === '' || ONLY.split(',').some((only) => name === only || name.startsWith(`${only}-w`));
  const slots = SLOTS.filter((s) => s.mode === MODE && wanted(s.name) && s.available());
  const rows: Row[] = [];
  try {
    for (let rep = 0; rep < REPS; rep++) for (const slot of slots) rows.push(...(await measure(slot)));
  } finally {
    killTree(backend.pid!);
  }

  const node = process.version;
  console.log(
    `\nproxy benchmark: ${new Date().toISOString()}, Node ${node}, ${DURATION}s per run, ${REPS} rep(s), proxy on CPU ${PROXY_CPU}, wrk + origin on CPU ${CLIENT_CPU}\n`,
  );
  const REFERENCES: Record<string, string> = { l4: 'haproxy-tcp', tls: 'nginx-tls', h2: 'nginx-h2' };
  const reference = REFERENCES[MODE] ?? 'nginx';
  const referenceOf = (scenario: string) =>
    median(rows.filter((r) => r.slot === reference && r.scenario === scenario).map((r) => r.cpuUsPerRequest));
  const TITLES: Record<string, string> = {
    small: '5-byte responses, keep-alive, 50 connections',
    c1: 'one connection',
    big: '1 MiB responses, 10 connections',
    text: 'a 16 KiB HTML page to a client that accepts gzip and br, 10 connections',
    conns: 'a new connection per request, 50 at a time',
    handshake: 'a full TLS handshake (ECDSA P-256, no resumption) per request, 50 at a time',
    'tls-ka': 'HTTPS keep-alive, 5-byte responses, 50 connections',
    h2: 'HTTP/2 over TLS, 5-byte responses, 10 connections x 10 streams (h2load; p50 = mean, p99 = max)',
  };
  const UNITS: Record<string, [string, string]> = {
    big: ['CPU us per MiB', 'MiB/s'],
    conns: ['CPU us per connection', 'connections/s'],
    handshake: ['CPU us per handshake + request', 'handshakes/s'],
  };
  for (const scenario of SCENARIOS) {
    const [cost, rate] = UNITS[scenario] ?? ['CPU us/req', 'req/s'];
    console.log(`### ${scenario}: ${TITLES[scenario]}\n`);
    console.log(
      `| proxy | ${cost} | x ${reference} | ${rate} | p50 ms | p99 ms | RSS MiB | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|`,
    );
    for (const slot of slots) {
      const mine = rows.filter((r) => r.slot === slot.name && r.scenario === scenario);
      if (mine.length === 0) continue;
      const cpu = median(mine.map((r) => r.cpuUsPerRequest));
      const base = referenceOf(scenario);
      console.log(
        `| ${slot.name} | ${cpu.toFixed(1)} | ${base > 0 ? (cpu / base).toFixed(2) : '-'} | ${Math.round(median(mine.map((r) => r.perSecond))).toLocaleString('en-US')} | ` +
          `${median(mine.map((r) => r.p50ms)).toFixed(3)} | ${median(mine.map((r) => r.p99ms)).toFixed(3)} | ${median(mine.map((r) => r.rssMiB)).toFixed(0)} | ${mine.reduce((a, r) => a + r.errors, 0)} |`,
      );
    }
    console.log('');
  }
  if (PERF !== '') printPerf(slots, rows);
  writeFileSync(join(RUN, 'records.json'), JSON.stringify(rows, null, 2));
  console.log(`records: ${join(RUN, 'records.json')}`);
}

await main();
