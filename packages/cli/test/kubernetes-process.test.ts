import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { FakeKubeApi } from '../../discovery/test/helpers/fake-kube-api.ts';
import { endpointSlice, ingress, ingressClass, service } from '../../discovery/test/helpers/kube-fixtures.ts';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { writeKubeconfig } from './helpers/kube-harness.ts';
import { PorticoProcess, runPortico } from './helpers/portico-process.ts';

describe('the portico binary as an ingress controller', () => {
  let api: FakeKubeApi;
  let backend: Backend;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-k8s-bin-'));
    api = new FakeKubeApi({ token: 'sa-token' });
    await api.start();
    backend = await startBackend('pod');
  });
  /** applyWeb puts an Ingress `<ns>.example` to Service `web` (its pod: the backend) in namespace `ns`. */
  function applyWeb(ns: string): void {
    api.apply('ingressclasses', ingressClass('portico'));
    api.apply('services', service('web', { namespace: ns }));
    api.apply(
      'endpointslices',
      endpointSlice('web-1', 'web', [{ address: '127.0.0.1' }], [{ name: 'http', port: backend.port }], ns),
    );
    api.apply(
      'ingresses',
      ingress('web', { namespace: ns, host: `${ns}.example`, paths: [{ service: 'web', port: 80 }] }),
    );
  }

  after(async () => {
    await api.close();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("portico run --kubernetes --kubeconfig --namespace serves the namespace's Ingresses and publishes status", async () => {
    for (const ns of ['shop', 'other']) applyWeb(ns);
    const kubeconfig = await writeKubeconfig(dir, api.url, 'sa-token');
    const base = join(dir, 'base.yaml');
    await writeFile(
      base,
      'listeners:\n  - { name: http, address: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\n',
    );
    const portico = new PorticoProcess([
      'run',
      '--kubernetes',
      '--kubeconfig',
      kubeconfig,
      '--config',
      base,
      '--namespace',
      'shop',
      '--publish-address',
      'edge.example.net',
      '--election-namespace',
      'portico-system',
    ]);
    try {
      const port = await portico.listeningPort();
      const statusOf = async (host: string) => {
        const res = await request(`http://127.0.0.1:${port}/`, { headers: { host } });
        await res.body.dump();
        return res.statusCode;
      };
      assert.equal(await statusOf('shop.example'), 200);
      assert.equal(await statusOf('other.example'), 404, 'namespace "other" is not watched');
      assert.ok(
        api.requests
          .filter((r) => r.watch)
          .every((r) => r.path.includes('/namespaces/shop/') || r.plural === 'ingressclasses'),
      );
      const deadline = Date.now() + 5_000;
      let status: unknown;
      while (Date.now() < deadline) {
        status = (
          api.get('ingresses', 'shop', 'web')?.status as { loadBalancer?: { ingress?: unknown } } | undefined
        )?.loadBalancer?.ingress;
        if (status !== undefined) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(status, [{ hostname: 'edge.example.net' }]);
      assert.equal(api.get('ingresses', 'other', 'web')?.status, undefined);
    } finally {
      portico.child.kill('SIGTERM');
      assert.equal(await portico.exited, 0);
    }
  });

  it('with --workers 2, both workers serve the Ingresses and follow a change; SIGTERM drains them', async () => {
    applyWeb('shop');
    const kubeconfig = await writeKubeconfig(dir, api.url, 'sa-token', 'kubeconfig-workers');
    const base = join(dir, 'base-workers.yaml');
    await writeFile(
      base,
      'listeners:\n  - { name: http, address: 127.0.0.1, port: 0 }\nadmin: { address: 127.0.0.1, port: 0 }\n',
    );
    const portico = new PorticoProcess([
      'run',
      '--kubernetes',
      '--kubeconfig',
      kubeconfig,
      '--config',
      base,
      '--namespace',
      'shop',
      '--no-leader-election',
      '--workers',
      '2',
    ]);
    try {
      const port = await portico.listeningPort();
      const admin = (await portico.waitForLog((l) => typeof l['url'] === 'string'))['url'] as string;
      const statusOf = async (host: string) => {
        const res = await request(`http://127.0.0.1:${port}/`, { headers: { host }, reset: true });
        await res.body.dump();
        return res.statusCode;
      };
      for (let i = 0; i < 30; i++) assert.equal(await statusOf('shop.example'), 200);
      api.apply(
        'ingresses',
        ingress('late', { namespace: 'shop', host: 'late.example', paths: [{ service: 'web', port: 80 }] }),
      );
      const deadline = Date.now() + 5_000;
      while ((await statusOf('late.example')) !== 200 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const served = new Set<number>();
      for (let i = 0; i < 30; i++) served.add(await statusOf('late.example'));
      assert.deepEqual([...served], [200], 'every worker serves the new Ingress');
      const workers = (await (await request(`${admin}/status`)).body.json()) as {
        workers: { requests: number; version: number }[];
      };
      assert.equal(workers.workers.length, 2);
      assert.equal(new Set(workers.workers.map((w) => w.version)).size, 1, 'both on one version');
    } finally {
      portico.child.kill('SIGTERM');
      assert.equal(await portico.exited, 0);
    }
  });

  it('without --config or --kubernetes, or with a broken kubeconfig, it says what is wrong and exits 1', async () => {
    const none = await runPortico(['run']);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /needs --config <file>, or --kubernetes/);
    const broken = join(dir, 'broken-kubeconfig');
    await writeFile(broken, 'apiVersion: v1\nkind: Config\nclusters: []\n');
    const bad = await runPortico(['run', '--kubernetes', '--kubeconfig', broken]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /no current-context; pass --context/);
  });
});
