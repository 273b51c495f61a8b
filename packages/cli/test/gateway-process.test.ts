import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { FakeKubeApi } from '../../discovery/test/helpers/fake-kube-api.ts';
import { applyInfra, BACKENDS, gatewayClass, httpRoute, INFRA } from './helpers/gateway-infra.ts';
import { until, writeKubeconfig } from './helpers/kube-harness.ts';
import { type Pod, startPods } from './helpers/pods.ts';
import { PorticoProcess } from './helpers/portico-process.ts';

type Conditions = { type: string; status: string; reason: string }[];

/**
 * The portico binary against the fake API server with the Gateway API installed: a Gateway and an
 * HTTPRoute serve traffic through the real process, and Gateway API status is written by the Lease
 * holder only (here: not while another instance holds the Lease, then as soon as this one takes it).
 */
describe('the portico binary as a Gateway API implementation', () => {
  let api: FakeKubeApi;
  let pods: Pod[];
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-gateway-bin-'));
    api = new FakeKubeApi({ gatewayApi: true, token: 'sa-token' });
    await api.start();
    pods = await startPods(BACKENDS.map((b) => b.name));
    applyInfra(api, pods);
  });

  after(async () => {
    await api.close();
    await Promise.all(pods.map((p) => p.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('serves an HTTPRoute through the binary; status waits for the Lease, then carries the addresses', async () => {
    // The Gateways of applyInfra name class "portico"; this run serves the controller name given by flag.
    api.apply('gatewayclasses', gatewayClass('portico', 'example.com/edge').object);
    api.apply(
      'httproutes',
      httpRoute('bin', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['bin.example'],
        rules: [{ backendRefs: [{ name: 'infra-backend-v2', port: 8080 }] }],
      }).object,
    );
    // Another instance holds the Lease, renewed just now for an hour.
    api.apply('leases', {
      metadata: { name: 'portico-leader', namespace: 'portico-system' },
      spec: {
        holderIdentity: 'another-instance',
        leaseDurationSeconds: 3600,
        renewTime: new Date().toISOString().replace('Z', '000Z'),
      },
    });
    const kubeconfig = await writeKubeconfig(dir, api.url, 'sa-token');
    const base = join(dir, 'base.yaml');
    await writeFile(
      base,
      'listeners:\n  - { name: http, address: 127.0.0.1, port: 0, gatewayPort: 80 }\nadmin: { port: 0 }\n',
    );
    const portico = new PorticoProcess([
      'run',
      '--kubernetes',
      '--kubeconfig',
      kubeconfig,
      '--config',
      base,
      '--gateway-controller-name',
      'example.com/edge',
      '--publish-address',
      '192.0.2.10',
      '--election-namespace',
      'portico-system',
    ]);
    try {
      const port = await portico.listeningPort();
      const send = async (host: string) => {
        const res = await request(`http://127.0.0.1:${port}/`, { headers: { host } });
        const text = await res.body.text();
        return {
          status: res.statusCode,
          pod: res.statusCode === 200 ? (JSON.parse(text) as { pod: string }).pod : '',
        };
      };
      await until(async () => (await send('bin.example')).status === 200, 5_000, 'the route served');
      assert.equal((await send('bin.example')).pod, 'infra-backend-v2');
      assert.equal((await send('other.example')).status, 404);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const gatewayStatus = () =>
        api.get('gateways', INFRA, 'same-namespace')?.status as
          | {
              conditions?: Conditions;
              addresses?: { type: string; value: string }[];
              listeners?: { attachedRoutes: number }[];
            }
          | undefined;
      assert.equal(gatewayStatus(), undefined, 'no status while another instance leads');
      assert.equal(api.get('httproutes', INFRA, 'bin')?.status, undefined);
      api.delete('leases', 'portico-system', 'portico-leader');
      await until(
        () => gatewayStatus()?.conditions !== undefined,
        10_000,
        'status written by the new leader',
      );
      await portico.waitForLog((l) => String(l['msg']).startsWith('leader gained'));
      const status = gatewayStatus()!;
      assert.deepEqual(status.addresses, [{ type: 'IPAddress', value: '192.0.2.10' }]);
      assert.equal(status.conditions?.find((c) => c.type === 'Programmed')?.status, 'True');
      assert.equal(status.listeners?.[0]?.attachedRoutes, 1);
      await until(() => api.get('httproutes', INFRA, 'bin')?.status !== undefined, 5_000, 'route status');
      const route = api.get('httproutes', INFRA, 'bin')?.status as {
        parents: { controllerName: string; conditions: Conditions }[];
      };
      assert.equal(route.parents[0]!.controllerName, 'example.com/edge');
      assert.equal(route.parents[0]!.conditions.find((c) => c.type === 'Accepted')?.status, 'True');
    } finally {
      portico.child.kill('SIGTERM');
      assert.equal(await portico.exited, 0);
    }
  });
});
