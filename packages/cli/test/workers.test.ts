import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { PorticoProcess, runPortico } from './helpers/portico-process.ts';

interface WorkerStatus {
  index: number;
  pid: number;
  version: number;
  requests: number;
  restarts: number;
}

/** A Portico with `--workers 2`, its port and admin API. */
class Running {
  readonly process: PorticoProcess;
  readonly port: number;
  readonly admin: string;

  constructor(process: PorticoProcess, port: number, admin: string) {
    this.process = process;
    this.port = port;
    this.admin = admin;
  }

  /** get sends a request on a connection of its own (so the kernel may pick either worker). */
  async get(path = '/', host = 'app.example'): Promise<{ status: number; body: string; tag: string }> {
    const res = await request(`http://127.0.0.1:${this.port}${path}`, { headers: { host }, reset: true });
    return { status: res.statusCode, body: await res.body.text(), tag: String(res.headers['x-tag'] ?? '') };
  }

  async workers(): Promise<WorkerStatus[]> {
    const res = await request(`${this.admin}/status`);
    return ((await res.body.json()) as { workers: WorkerStatus[] }).workers;
  }

  /** until polls `check` (every 50 ms, for at most `ms`) until it holds. */
  async until(check: (workers: WorkerStatus[]) => boolean, ms = 5_000): Promise<WorkerStatus[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const workers = await this.workers();
      if (check(workers)) return workers;
      if (Date.now() > deadline) throw new Error(`workers never got there: ${JSON.stringify(workers)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('portico run --workers 2: data-plane processes on one port, one control plane', () => {
  let good: Backend;
  let bad: Backend;
  let slow: Backend;
  let dir: string;
  let running: Running | undefined;

  let failing: Backend;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-workers-'));
    failing = await startBackend('failing', (_req, res) => {
      res.statusCode = 500;
      res.end('failing');
    });
    good = await startBackend('good', (_req, res) => res.end('good'));
    // Fails its health check, but answers requests: only health checks keep traffic off it.
    bad = await startBackend('bad', (req, res) => {
      res.statusCode = req.url === '/healthz' ? 503 : 200;
      res.end('bad');
    });
    slow = await startBackend('slow', (_req, res) => setTimeout(() => res.end('slow'), 800));
  });
  afterEach(() => {
    running?.process.kill();
    running = undefined;
  });
  after(async () => {
    await Promise.all([good.close(), bad.close(), slow.close(), failing.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const config = (tag: string, healthChecked = false) => `
listeners: [{ name: web, address: 127.0.0.1, port: 0 }]
admin: { address: 127.0.0.1, port: 0 }
routes:
  - host: app.example
    responseHeaders: { set: { x-tag: ${tag} } }
    paths: [{ path: /, service: app }]
  - host: slow.example
    paths: [{ path: /, service: slow }]
services:
  - name: app
    endpoints: [{ address: 127.0.0.1, port: ${good.port} }${healthChecked ? `, { address: 127.0.0.1, port: ${bad.port} }` : ''}]
${healthChecked ? '    healthCheck: { type: http, path: /healthz, intervalMs: 100, jitterMs: 0, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 1 }' : ''}
  - name: slow
    endpoints: [{ address: 127.0.0.1, port: ${slow.port} }]
`;

  async function start(file: string, ...args: string[]): Promise<Running> {
    const process = new PorticoProcess(['run', '--config', file, '--workers', '2', ...args]);
    const port = await process.listeningPort();
    const admin = (await process.waitForLog((l) => typeof l['url'] === 'string'))['url'] as string;
    running = new Running(process, port, admin);
    return running;
  }

  it('both workers accept connections on the one port', async () => {
    const file = join(dir, 'both.yaml');
    await writeFile(file, config('one'));
    const portico = await start(file);
    for (let i = 0; i < 60; i++) assert.equal((await portico.get()).body, 'good');
    // Each worker reports its counters to the primary twice a second.
    const workers = await portico.until(
      (w) => w.length === 2 && w.every((x) => x.requests > 0) && w.reduce((n, x) => n + x.requests, 0) === 60,
    );
    assert.equal(new Set(workers.map((w) => w.pid)).size, 2, 'two processes');
    // The admin API's metrics are the workers', added up: one series per metric.
    const metrics = await (await request(`${portico.admin}/metrics`)).body.text();
    const value = (series: string) => Number(new RegExp(`^${series} (\\d+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(value('portico_requests_total'), 60);
    assert.equal(value('portico_connections_total'), 60);
    assert.equal(value('portico_route_responses_total\\{route="routes\\[0\\]",class="2xx"\\}'), 60);
    assert.equal(
      value('portico_endpoint_requests_total\\{service="app",endpoint="127\\.0\\.0\\.1:\\d+"\\}'),
      60,
    );
  });

  it('kill -9 of a worker under a steady loop costs at most what it had in flight; a replacement serves within a second', async () => {
    const file = join(dir, 'kill.yaml');
    await writeFile(file, config('one'));
    const portico = await start(file);
    const [first] = await portico.until((w) => w.every((x) => x.version === 1));
    let failed = 0;
    let served = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop && served + failed < 5_000) {
        try {
          if ((await portico.get()).status === 200) served++;
          else failed++;
        } catch {
          failed++;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    process.kill(first!.pid, 'SIGKILL');
    const killedAt = Date.now();
    const replaced = await portico.until(
      (w) => w[0]!.pid !== first!.pid && w[0]!.version === 1 && w[0]!.restarts === 1,
      1_000,
    );
    assert.ok(Date.now() - killedAt <= 1_000, 'replaced and serving config 1 within a second');
    await portico.until((w) => w[0]!.requests > 0, 3_000);
    stop = true;
    await loop;
    assert.ok(
      failed <= 2,
      `${failed} requests failed of ${served + failed}: one loop has at most one in flight`,
    );
    assert.notEqual(replaced[0]!.pid, first!.pid);
  });

  it('a config change and a health verdict reach every worker', async () => {
    const file = join(dir, 'change.yaml');
    await writeFile(file, config('one', true));
    const portico = await start(file);
    // The primary's health check takes the bad endpoint out; neither worker sends to it any more.
    await new Promise((r) => setTimeout(r, 500));
    const bodies = new Set<string>();
    for (let i = 0; i < 60; i++) bodies.add((await portico.get()).body);
    assert.deepEqual([...bodies], ['good'], 'no worker sends to the endpoint the primary found unhealthy');
    await writeFile(file, config('two', true));
    await portico.until((w) => w.every((x) => x.version === 2));
    const tags = new Set<string>();
    for (let i = 0; i < 40; i++) tags.add((await portico.get()).tag);
    assert.deepEqual([...tags], ['two'], 'every worker serves the new config');
    // Worker counters reach /status on the primary's next refresh, not with each request.
    await portico.until((w) => w.every((x) => x.requests > 0));
  });

  it("one worker's passive ejection holds in every worker", async () => {
    const file = join(dir, 'eject.yaml');
    await writeFile(
      file,
      `${config('one')}  - name: flaky
    endpoints: [{ address: 127.0.0.1, port: ${failing.port} }, { address: 127.0.0.1, port: ${good.port} }]
    balancer: random
    outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 30000, maxEjectionPercent: 50 }
    retries: { attempts: 0 }
`.replace(
        '  - host: slow.example',
        '  - host: flaky.example\n    paths: [{ path: /, service: flaky }]\n  - host: slow.example',
      ),
    );
    const portico = await start(file);
    const ejected = () =>
      portico.process.lines.some((l) =>
        String(l['msg']).includes(`ejected endpoint 127.0.0.1:${failing.port}`),
      );
    for (let i = 0; i < 200 && !ejected(); i++) await portico.get('/', 'flaky.example');
    await portico.process.waitForLog((l) => String(l['msg']).includes('the other workers follow'));
    await new Promise((r) => setTimeout(r, 100)); // the verdict crosses to the other worker
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) statuses.add((await portico.get('/', 'flaky.example')).status);
    assert.deepEqual([...statuses], [200], 'neither worker sends to the ejected endpoint');
    const workers = await portico.until((w) => w.every((x) => x.requests > 0));
    assert.equal(workers.length, 2);
  });

  it('a cookie one worker sets pins the client in every worker', async () => {
    const file = join(dir, 'sticky.yaml');
    await writeFile(
      file,
      `${config('one')}  - name: sticky
    endpoints: [{ address: 127.0.0.1, port: ${good.port} }, { address: 127.0.0.1, port: ${bad.port} }]
    affinity: { type: cookie }
`.replace(
        '  - host: slow.example',
        '  - host: sticky.example\n    paths: [{ path: /, service: sticky }]\n  - host: slow.example',
      ),
    );
    const portico = await start(file);
    const first = await request(`http://127.0.0.1:${portico.port}/`, {
      headers: { host: 'sticky.example' },
      reset: true,
    });
    const pinnedTo = await first.body.text();
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    const bodies = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await request(`http://127.0.0.1:${portico.port}/`, {
        headers: { host: 'sticky.example', cookie },
        reset: true,
      });
      bodies.add(await res.body.text());
    }
    assert.deepEqual([...bodies], [pinnedTo]);
    const workers = await portico.until((w) => w.reduce((n, x) => n + x.requests, 0) === 41);
    assert.ok(
      workers.every((w) => w.requests > 0),
      'both workers served the pinned client',
    );
  });

  it("a listener's connection limit holds across workers: each takes its share", async () => {
    const file = join(dir, 'limit.yaml');
    await writeFile(
      file,
      config('one').replace(
        'listeners: [{ name: web, address: 127.0.0.1, port: 0 }]',
        'listeners: [{ name: web, address: 127.0.0.1, port: 0, maxConnections: 2 }]',
      ),
    );
    const portico = await start(file);
    // Eight slow requests at once, each on a connection of its own: at most two get in.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, () => portico.get('/', 'slow.example')),
    );
    const served = outcomes.filter((o) => o.status === 'fulfilled' && o.value.body === 'slow').length;
    assert.ok(served >= 1 && served <= 2, `${served} of 8 served with maxConnections: 2 over two workers`);
  });

  it("every worker's access log lines go to the one file, whole", async () => {
    const file = join(dir, 'log.yaml');
    const log = join(dir, 'access.log');
    await writeFile(file, config('one'));
    const portico = await start(file, '--access-log', log);
    for (let i = 0; i < 80; i++) await portico.get(`/item-${i}`);
    await portico.until(
      (w) => w.every((x) => x.requests > 0) && w.reduce((n, x) => n + x.requests, 0) === 80,
    );
    portico.process.child.kill('SIGTERM');
    assert.equal(await portico.process.exited, 0);
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 80);
    const paths = lines.map((line) => (JSON.parse(line) as { path: string }).path).sort();
    assert.deepEqual(paths, Array.from({ length: 80 }, (_, i) => `/item-${i}`).sort());
  });

  it('refuses a --workers that is not a count of 1 to 1024 or "auto", saying so', async () => {
    for (const value of ['0', 'many', '1.5']) {
      const { code, stderr } = await runPortico([
        'run',
        '--config',
        join(dir, 'none.yaml'),
        '--workers',
        value,
      ]);
      assert.equal(code, 1);
      assert.match(
        stderr,
        /--workers <count>' argument '.*' is invalid\. must be a count of 1 to 1024, or "auto"/,
      );
    }
  });

  it('SIGTERM drains every worker: a request in flight finishes, then all exit 0', async () => {
    const file = join(dir, 'drain.yaml');
    await writeFile(file, config('one'));
    const portico = await start(file);
    const workers = await portico.until((w) => w.every((x) => x.version === 1));
    const inFlight = portico.get('/', 'slow.example');
    await new Promise((r) => setTimeout(r, 200));
    portico.process.child.kill('SIGTERM');
    const answer = await inFlight;
    assert.equal(answer.body, 'slow');
    assert.equal(await portico.process.exited, 0);
    for (const worker of workers)
      assert.throws(() => process.kill(worker.pid, 0), 'the worker process is gone too');
  });
});
