/**
 * Router benchmark: compile time, memory and match throughput of a 10,000-host x 10-path table, with
 * exact hosts and with wildcard hosts and 20-segment request paths, plus one incremental host rebuild.
 *
 *   node --expose-gc bench/router-match.ts [--seconds 2]
 */
import { compileRouteTable, type PathType, type RouteSpec } from '@portico/router';

const HOSTS = 10_000;
const PATHS_PER_HOST = 10;
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] ?? 2) || 2;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function specs(wildcard: boolean): RouteSpec<number>[] {
  const out: RouteSpec<number>[] = [];
  for (let h = 0; h < HOSTS; h++) {
    const paths = [];
    for (let p = 0; p < PATHS_PER_HOST; p++) {
      const type: PathType = p % 3 === 0 ? 'Exact' : 'Prefix';
      paths.push({
        path: p === 0 ? '/' : `/svc${p}/v${p % 4}`,
        type: p === 0 ? 'Prefix' : type,
        target: h * 100 + p,
      });
    }
    out.push({ host: wildcard ? `*.tenant${h}.example.com` : `host${h}.example.com`, paths });
  }
  return out;
}

function requests(wildcard: boolean, segments: number): [string, string][] {
  const out: [string, string][] = [];
  let seed = 42;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 100_000; i++) {
    const h = next() % HOSTS;
    const p = 1 + (next() % (PATHS_PER_HOST - 1));
    let path = `/svc${p}/v${p % 4}`;
    for (let s = 2; s < segments; s++) path += `/seg${next() % 100}`;
    const host = wildcard ? `app${next() % 50}.tenant${h}.example.com` : `host${h}.example.com`;
    out.push([host, path]);
  }
  return out;
}

function measure(label: string, wildcard: boolean, segments: number) {
  const input = specs(wildcard);
  const compileRuns: number[] = [];
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    compileRouteTable(input);
    compileRuns.push(performance.now() - started);
  }
  const coldMs = compileRuns[0]!;
  const warmMs = compileRuns.slice(1).sort((a, b) => a - b)[1]!;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const { table, issues } = compileRouteTable(input);
  gc();
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  if (issues.length > 0) throw new Error(`unexpected issues: ${issues[0]!.message}`);

  const reqs = requests(wildcard, segments);
  let checksum = 0;
  for (let i = 0; i < 200_000; i++)
    checksum += table.match(reqs[i % reqs.length]![0], reqs[i % reqs.length]![1])?.target ?? 0;
  let matches = 0;
  const deadline = performance.now() + seconds * 1000;
  const begun = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < reqs.length; i++) {
      const [host, path] = reqs[i]!;
      checksum += table.match(host, path)?.target ?? 0;
    }
    matches += reqs.length;
  }
  const perSecond = matches / ((performance.now() - begun) / 1000);

  const rebuildStart = performance.now();
  const host = wildcard ? '*.tenant7.example.com' : 'host7.example.com';
  table.withHosts([host], [{ host, paths: [{ path: '/new', type: 'Prefix', target: 1 }] }]);
  const rebuildMs = performance.now() - rebuildStart;
  return { label, coldMs, warmMs, heapMiB, perSecond, rebuildMs, checksum };
}

const rows = [
  measure('exact hosts, 2-segment paths', false, 2),
  measure('wildcard hosts, 20-segment paths', true, 20),
];
console.log(
  `router benchmark: ${HOSTS} hosts x ${PATHS_PER_HOST} paths, Node ${process.version}, ${seconds}s per figure\n`,
);
console.log('| table | compile ms (first / warm) | heap MiB | matches/s | rebuild one host ms |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.label} | ${r.coldMs.toFixed(0)} / ${r.warmMs.toFixed(0)} | ${r.heapMiB.toFixed(1)} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.rebuildMs.toFixed(2)} |`,
  );
}
if (rows.some((r) => Number.isNaN(r.checksum))) process.exitCode = 1;
