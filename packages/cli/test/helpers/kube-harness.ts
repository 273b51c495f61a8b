import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect, type PeerCertificate } from 'node:tls';
import { pino } from 'pino';
import { type KubernetesRunOptions, type RunningPortico, startPortico } from 'portico';
import type { Pool } from 'undici';
import { FakeKubeApi } from '../../../discovery/test/helpers/fake-kube-api.ts';
import { until } from '../../../discovery/test/helpers/until.ts';

export { until };

/** BASE_CONFIG is the base of the tests' ingress controller: HTTP and HTTPS on loopback, admin on. */
export const BASE_CONFIG = `listeners:
  - { name: http, address: 127.0.0.1, port: 0 }
  - { name: https, address: 127.0.0.1, port: 0, protocol: https, tls: {} }
admin: { address: 127.0.0.1, port: 0 }
`;

/** FAST_WATCH makes the watch loop react in test time (same logic, shorter bounds). */
export const FAST_WATCH = {
  backoffInitialMs: 100,
  backoffMaxMs: 500,
  watchIdleTimeoutMs: 1_000,
  healthyWatchMs: 1_000,
};

/** KubeHarness is a fake API server, a kubeconfig pointing at it, and Portico running against it. */
export interface KubeHarness {
  readonly api: FakeKubeApi;
  readonly portico: RunningPortico;
  readonly logs: Record<string, unknown>[];
  readonly kubeconfig: string;
  readonly dir: string;
  httpPort(): number;
  httpsPort(): number;
  close(): Promise<void>;
}

/** writeKubeconfig writes a kubeconfig for `server` with a bearer token. */
export async function writeKubeconfig(
  dir: string,
  server: string,
  token = 'test-token',
  name = 'kubeconfig',
): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    `apiVersion: v1
kind: Config
current-context: test
clusters:
  - name: fake
    cluster: { server: "${server}" }
users:
  - name: tester
    user: { token: "${token}" }
contexts:
  - name: test
    context: { cluster: fake, user: tester, namespace: portico-system }
`,
  );
  return file;
}

/** startKubeHarness starts the fake API (with `setup` applied first) and Portico watching it. */
export async function startKubeHarness(
  setup: (api: FakeKubeApi) => void,
  options: Partial<KubernetesRunOptions> = {},
  api = new FakeKubeApi(),
  baseConfig = BASE_CONFIG,
): Promise<KubeHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-k8s-'));
  if (api.url.endsWith(':0')) await api.start();
  setup(api);
  const kubeconfig = await writeKubeconfig(dir, api.url);
  const base = join(dir, 'portico.yaml');
  await writeFile(base, baseConfig);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const portico = await startPortico(
    {
      config: base,
      kubernetes: { kubeconfig, leaderElection: false, watch: FAST_WATCH, ...options },
    },
    pino({ level: 'info' }, sink),
  );
  const port = (name: string) => portico.proxy.listeners().find((l) => l.name === name)!.port;
  return {
    api,
    portico,
    logs,
    kubeconfig,
    dir,
    httpPort: () => port('http'),
    httpsPort: () => port('https'),
    async close() {
      await portico.stop(500);
      await api.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** get sends GET http://host/path through Portico and returns the status and the JSON body (if any). */
export async function get(
  pool: Pool,
  host: string,
  path = '/',
): Promise<{ status: number; body: Record<string, string> | undefined }> {
  const res = await pool.request({ path, method: 'GET', headers: { host } });
  const text = await res.body.text();
  let body: Record<string, string> | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.statusCode, body };
}

/** servedCertificate connects with `servername` and returns the certificate served. */
export function servedCertificate(port: number, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** servedCertificateCn returns the subject CN of the certificate served for `servername`. */
export async function servedCertificateCn(port: number, servername: string): Promise<string> {
  const cn = (await servedCertificate(port, servername)).subject?.CN;
  return Array.isArray(cn) ? cn.join(',') : (cn ?? '');
}

/** SteadyLoop sends one request every `intervalMs` until stopped, recording every outcome. */
export class SteadyLoop {
  readonly results: { at: number; status: number; pod: string | undefined; error?: string }[] = [];
  #stop = false;
  readonly #done: Promise<void>;

  constructor(pool: Pool, host: string, intervalMs: number, maxMs: number) {
    this.#done = (async () => {
      const end = Date.now() + maxMs;
      for (let i = 0; i < 100_000 && !this.#stop && Date.now() < end; i++) {
        try {
          const { status, body } = await get(pool, host);
          this.results.push({ at: Date.now(), status, pod: body?.pod });
        } catch (error) {
          this.results.push({ at: Date.now(), status: 0, pod: undefined, error: (error as Error).message });
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    })();
  }

  get failures() {
    return this.results.filter((r) => r.status !== 200);
  }

  since(at: number) {
    return this.results.filter((r) => r.at >= at);
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}
