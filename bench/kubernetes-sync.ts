/**
 * Kubernetes discovery at scale: initial sync time and memory, and the time from a watch event to the
 * route live in the data plane, against a fake API server (bench/kubernetes/fake-api-process.ts) in its
 * own process, so the memory figures are Portico's alone.
 *
 *   node --conditions=development --expose-gc bench/kubernetes-sync.ts [--changes 200] [--large 5000]
 *
 * Two clusters: 100 Ingresses / 100 Services / 400 EndpointSlices, and --large Ingresses / Services with
 * 4x as many EndpointSlices (5,000 / 5,000 / 20,000 by default). Portico runs in this process: the
 * Kubernetes source (list pages of 500, then watches), translation, validation, and the proxy's compile
 * and apply. For each change (an EndpointSlice gaining a pod, or a new Ingress, alternating) it records
 * the convergence Portico measures (watch event arrival -> applied), the wall time from the API
 * server's write to applied, and how long the event loop was held at a time while changes applied (what
 * a request on an unrelated route would wait).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PorticoConfig } from '@portico/config';
import { type ConfigUpdate, KubernetesDiscovery } from '@portico/discovery';
import { createProxy, type PorticoProxy } from '@portico/proxy';
import { option } from './options.ts';

const CHANGES = option('changes', 200);
const LARGE = option('large', 5_000);
const FAKE = fileURLToPath(new URL('./kubernetes/fake-api-process.ts', import.meta.url));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Child {
  process: ChildProcess;
  lines: Interface;
  next(): Promise<Record<string, unknown>>;
}

function startFake(ingresses: number, services: number, slices: number): Child {
  const child = spawn(
    process.execPath,
    [
      '--conditions=development',
      FAKE,
      '--ingresses',
      `${ingresses}`,
      '--services',
      `${services}`,
      '--slices',
      `${slices}`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  let waiter: ((line: string) => void) | undefined;
  lines.on('line', (line) => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(line);
    } else queue.push(line);
  });
  return {
    process: child,
    lines,
    next: () =>
      new Promise((resolve) => {
        const line = queue.shift();
        if (line !== undefined) resolve(JSON.parse(line));
        else waiter = (l) => resolve(JSON.parse(l));
      }),
  };
}

async function run(ingresses: number, services: number, slices: number) {
  const fake = startFake(ingresses, services, slices);
  const { url } = (await fake.next()) as { url: string };
  gc();
  const before = process.memoryUsage();
  let proxy: PorticoProxy | undefined;
  let applied: ((at: number, convergenceMs: number | undefined, config: PorticoConfig) => void) | undefined;
  const discovery = new KubernetesDiscovery({
    connection: { server: url, namespace: 'default', description: 'bench' },
    base: { listeners: [{ name: 'http', address: '127.0.0.1', port: 0 }] },
    election: false,
  });
  const started = performance.now();
  let applyMs = 0;
  await discovery.start(async (update: ConfigUpdate) => {
    if (!update.ok) throw new Error(JSON.stringify(update.problems.slice(0, 3)));
    const t = performance.now();
    if (proxy === undefined) proxy = createProxy(update.config);
    else await proxy.apply(update.config);
    // As `portico run` does: the router's problems go back to the source, as issues on Ingresses.
    discovery.reportRouteIssues(
      proxy.snapshot.routeIssues.map((i) => ({ code: i.code, path: i.at, message: i.message })),
    );
    const done = performance.now();
    applyMs = done - t;
    applied?.(
      performance.timeOrigin + done,
      update.receivedAt === undefined ? undefined : done - update.receivedAt,
      update.config,
    );
  });
  const syncMs = performance.now() - started;
  gc();
  const after = process.memoryUsage();
  const routes = proxy!.snapshot.config.routes.length;
  const endpoints = proxy!.snapshot.config.services.reduce((n, s) => n + s.endpoints.length, 0);

  const convergence: number[] = [];
  const writeToLive: number[] = [];
  // How long the event loop is held at a time while changes apply: what traffic on other routes waits.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  for (let i = 0; i < CHANGES; i++) {
    const command = i % 2 === 0 ? `scale ${i % services}` : `ingress ${i}`;
    const done = new Promise<{ at: number; convergenceMs: number | undefined }>((resolve) => {
      applied = (at, convergenceMs) => resolve({ at, convergenceMs });
    });
    fake.process.stdin!.write(`${command}\n`);
    const written = (await fake.next()) as { at: number };
    const result = await done;
    if (result.convergenceMs !== undefined) convergence.push(result.convergenceMs);
    writeToLive.push(result.at - written.at);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  loop.disable();
  fake.process.stdin!.write('exit\n');
  await discovery.stop();
  await proxy!.close({ drainTimeoutMs: 0 });
  fake.lines.close();
  fake.process.kill();
  convergence.sort((a, b) => a - b);
  writeToLive.sort((a, b) => a - b);
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  return {
    cluster: `${ingresses} Ingresses / ${services} Services / ${slices} EndpointSlices`,
    routes,
    endpoints,
    syncMs: syncMs.toFixed(0),
    heapMiB: mib(after.heapUsed - before.heapUsed),
    rssMiB: mib(after.rss - before.rss),
    rssTotalMiB: mib(after.rss),
    loopMaxMs: (loop.max / 1e6).toFixed(1),
    loopP99Ms: (loop.percentile(99) / 1e6).toFixed(1),
    lastApplyMs: applyMs.toFixed(1),
    convergenceP50: percentile(convergence, 50).toFixed(1),
    convergenceP99: percentile(convergence, 99).toFixed(1),
    writeToLiveP50: percentile(writeToLive, 50).toFixed(1),
    writeToLiveP99: percentile(writeToLive, 99).toFixed(1),
  };
}

const results = [await run(100, 100, 400), await run(LARGE, LARGE, LARGE * 4)];
console.log(`Kubernetes discovery, ${CHANGES} changes per cluster (node ${process.version})`);
console.log(
  '| cluster | routes | endpoints | initial sync | heap after sync | RSS growth (total) | last apply | loop held p99 / max | event->live p50 / p99 | API write->live p50 / p99 |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results)
  console.log(
    `| ${r.cluster} | ${r.routes} | ${r.endpoints} | ${r.syncMs} ms | ${r.heapMiB} MiB | ${r.rssMiB} MiB (${r.rssTotalMiB}) | ${r.lastApplyMs} ms | ${r.loopP99Ms} / ${r.loopMaxMs} ms | ${r.convergenceP50} / ${r.convergenceP99} ms | ${r.writeToLiveP50} / ${r.writeToLiveP99} ms |`,
  );
