/**
 * summary: every figure of the performance goals in one table, Portico beside nginx, HAProxy and the
 * Node floor, from one run of each mode of bench/proxy/run.ts.
 *
 *   pnpm bench:summary [--reps 2] [--duration 8]
 *
 * Runs `bench/proxy/run.ts` for L7 (5-byte keep-alive, 1 MiB), L4 (1 MiB transfers, a connection per
 * request) and TLS (a full handshake per request, keep-alive), reads the records each run writes, and
 * prints the medians with Portico's ratio to the peer each goal names and the goal itself. Needs what
 * `pnpm bench` needs (bench/setup.sh) and a build (`pnpm build`).
 *
 * The Node baseline is `node-floor` for HTTP and HTTPS (the least a proxy on Node streams does) and
 * `node-pipe-tcp` for L4 (sockets piped both ways, the usual way: not a floor).
 *
 * With `--perf <dir>` every run is also recorded with Linux `perf` (bench/perf-split.ts) and a second
 * table shows, per goal, where Portico's CPU time and its peer's went (kernel, OpenSSL, the proxy's own
 * code, runtime, GC, libc) and which categories make the gap.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { textOption } from './options.ts';
import { CATEGORIES } from './perf-split.ts';

const RUN = fileURLToPath(new URL('./proxy/run.ts', import.meta.url));
const REPS = textOption('reps', '2');
const DURATION = textOption('duration', '8');
const PERF = textOption('perf', '');

interface Row {
  slot: string;
  scenario: string;
  cpuUsPerRequest: number;
  rssMiB: number;
  perfUs?: Record<string, number>;
}

function run(mode: string, only: string, scenarios: string): Row[] {
  const out = execFileSync(
    process.execPath,
    ['--conditions=development', RUN, '--mode', mode, '--only', only, '--scenarios', scenarios].concat([
      '--reps',
      REPS,
      '--duration',
      DURATION,
      ...(PERF === '' ? [] : ['--perf', join(PERF, mode)]),
    ]),
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 },
  );
  const records = /^records: (.*)$/m.exec(out)?.[1];
  if (records === undefined) throw new Error(`no records from --mode ${mode}:\n${out}`);
  return JSON.parse(readFileSync(records, 'utf8')) as Row[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0
    ? Number.NaN
    : sorted.length % 2
      ? sorted[mid]!
      : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const rows = [
  ...run('l7', 'portico,nginx,haproxy,node-floor', 'small,big'),
  ...run('l4', 'portico-tcp,haproxy-tcp,node-pipe-tcp', 'big,conns'),
  ...run('tls', 'portico-tls,nginx-tls,haproxy-tls,node-floor-tls', 'handshake,tls-ka'),
];
const cpu = (slot: string, scenario: string) =>
  median(rows.filter((r) => r.slot === slot && r.scenario === scenario).map((r) => r.cpuUsPerRequest));
const rss = (slot: string, scenario: string) =>
  median(rows.filter((r) => r.slot === slot && r.scenario === scenario).map((r) => r.rssMiB));
const fmt = (n: number) =>
  Number.isNaN(n) ? '' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);

interface Line {
  readonly label: string;
  readonly figures: string[];
  readonly ratio: string;
  readonly target: string;
  readonly met: boolean;
}
const lines: Line[] = [];
/** splits are, per goal, the slots whose CPU time `--perf` split: Portico, the peer it is held to, the floor. */
const splits: { label: string; scenario: string; slots: string[] }[] = [];
/** goal adds a row: the figure for nginx, HAProxy, Portico and the floor; the ratio to `versus`; the target. */
const goal = (
  label: string,
  scenario: string,
  slots: { nginx?: string; haproxy?: string; portico: string; floor?: string },
  versus: 'nginx' | 'haproxy',
  target: string,
  targetRatio: number,
) => {
  const of = (slot: string | undefined) => (slot === undefined ? Number.NaN : cpu(slot, scenario));
  const [n, h, p, f] = [of(slots.nginx), of(slots.haproxy), of(slots.portico), of(slots.floor)];
  const ratio = p / (versus === 'nginx' ? n : h);
  const peer = versus === 'nginx' ? slots.nginx : slots.haproxy;
  splits.push({ label, scenario, slots: [slots.portico, peer!, ...(slots.floor ? [slots.floor] : [])] });
  lines.push({
    label,
    figures: [n, h, p, f].map(fmt),
    ratio: `${ratio.toFixed(2)}x ${versus === 'nginx' ? 'nginx' : 'HAProxy'}`,
    target,
    met: ratio <= targetRatio,
  });
};
goal(
  'HTTP/1.1 keep-alive, 5-byte, c=50: CPU us/req',
  'small',
  { nginx: 'nginx', haproxy: 'haproxy', portico: 'portico', floor: 'node-floor' },
  'nginx',
  '1.2x',
  1.2,
);
goal(
  '1 MiB responses, c=10: CPU us per MiB',
  'big',
  { nginx: 'nginx', haproxy: 'haproxy', portico: 'portico', floor: 'node-floor' },
  'haproxy',
  '1.2x HAProxy',
  1.2,
);
goal(
  'L4, 1 MiB transfers: CPU us per MiB',
  'big',
  { haproxy: 'haproxy-tcp', portico: 'portico-tcp', floor: 'node-pipe-tcp' },
  'haproxy',
  '1.2x HAProxy',
  1.2,
);
// No Node baseline for handshakes: node-floor keeps its origin connections across clients, which a
// connection per request (Connection: close) breaks, so its figure there is no floor.
goal(
  'TLS 1.3 full handshake + request: CPU us',
  'handshake',
  { nginx: 'nginx-tls', haproxy: 'haproxy-tls', portico: 'portico-tls' },
  'nginx',
  '1.2x',
  1.2,
);
goal(
  'TLS keep-alive, 5-byte, c=50: CPU us/req',
  'tls-ka',
  { nginx: 'nginx-tls', haproxy: 'haproxy-tls', portico: 'portico-tls', floor: 'node-floor-tls' },
  'nginx',
  '1.5x',
  1.5,
);
goal(
  'L4 new connection per request: CPU us',
  'conns',
  { haproxy: 'haproxy-tcp', portico: 'portico-tcp', floor: 'node-pipe-tcp' },
  'haproxy',
  '1.5x',
  1.5,
);

console.log(
  `\nperformance goals, ${new Date().toISOString()}, Node ${process.version}, ${REPS} rep(s) of ${DURATION} s, medians\n`,
);
console.log(
  '| figure | nginx | HAProxy | Portico | Node baseline | ratio | target | met |\n|---|---:|---:|---:|---:|---:|---:|---|',
);
for (const l of lines)
  console.log(
    `| ${l.label} | ${l.figures.join(' | ')} | ${l.ratio} | ${l.target} | ${l.met ? 'yes' : 'no'} |`,
  );
const r = (slot: string, scenario: string) => fmt(rss(slot, scenario));
console.log(
  `| RSS MiB: c=50 / 1 MiB / TLS | ${r('nginx', 'small')} / ${r('nginx', 'big')} / ${r('nginx-tls', 'tls-ka')} | ${r('haproxy', 'small')} / ${r('haproxy', 'big')} / ${r('haproxy-tls', 'tls-ka')} | ${r('portico', 'small')} / ${r('portico', 'big')} / ${r('portico-tls', 'tls-ka')} |  ${r('node-floor', 'small')} / ${r('node-floor', 'big')} / ${r('node-floor-tls', 'tls-ka')} | | 64 / 96 / 96 | ${rss('portico', 'small') <= 64 && rss('portico', 'big') <= 96 && rss('portico-tls', 'tls-ka') <= 96 ? 'yes' : 'no'} |`,
);

if (PERF !== '') {
  console.log(
    `\nwhere the CPU time went (perf; us per request, per MiB or per connection as above; medians): kernel, OpenSSL, the proxy's own code (JavaScript for Node), V8 and Node C++ runtime, GC, libc\n`,
  );
  console.log(
    `| figure | proxy | ${CATEGORIES.join(' | ')} | total |\n|---|---|${CATEGORIES.map(() => '---:|').join('')}---:|`,
  );
  for (const { label, scenario, slots } of splits) {
    const split = (slot: string) =>
      CATEGORIES.map((c) =>
        median(
          rows
            .filter((r) => r.slot === slot && r.scenario === scenario && r.perfUs)
            .map((r) => r.perfUs![c]!),
        ),
      );
    const [portico, peer] = [split(slots[0]!), split(slots[1]!)];
    for (const slot of slots) {
      console.log(
        `| ${label} | ${slot} | ${split(slot).map(fmt).join(' | ')} | ${fmt(cpu(slot, scenario))} |`,
      );
    }
    const gap = portico.map((v, i) => v - peer[i]!);
    console.log(
      `| ${label} | gap to ${slots[1]} | ${gap.map((g) => (Number.isNaN(g) ? '' : `${g >= 0 ? '+' : ''}${fmt(g)}`)).join(' | ')} | ${fmt(cpu(slots[0]!, scenario) - cpu(slots[1]!, scenario))} |`,
    );
  }
}
