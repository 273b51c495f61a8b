import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { endpointSlice, ingress, ingressClass, service } from '../../discovery/test/helpers/kube-fixtures.ts';
import { get, type KubeHarness, SteadyLoop, startKubeHarness, until } from './helpers/kube-harness.ts';
import { type Pod, startPods } from './helpers/pods.ts';

/** OUTAGE_MS is how long the API server is gone: a minute, as GOALS.md asks. */
const OUTAGE_MS = 60_000;

describe('a one-minute Kubernetes API outage, with the default watch settings', () => {
  let h: KubeHarness;
  let pods: Pod[];
  let pool: Pool;
  before(async () => {
    pods = await startPods(['app-a', 'app-b'], 20);
    h = await startKubeHarness(
      (api) => {
        api.apply('ingressclasses', ingressClass('portico'));
        api.apply('services', service('app'));
        api.apply(
          'endpointslices',
          endpointSlice(
            'app-1',
            'app',
            pods.map((p) => ({ address: p.address })),
            [{ name: 'http', port: pods[0]!.port }],
          ),
        );
        api.apply(
          'ingresses',
          ingress('app', { host: 'app.example', paths: [{ service: 'app', port: 80 }] }),
        );
      },
      { watch: {} },
    );
    pool = new Pool(`http://127.0.0.1:${h.httpPort()}`, { connections: 2 });
  });
  after(async () => {
    await pool.close();
    await h.close();
    await Promise.all(pods.map((p) => p.close()));
  });

  it('keeps serving with zero failed requests, retries with bounded backoff, converges within 2 s of healing', async () => {
    assert.equal((await get(pool, 'app.example')).status, 200);
    const loop = new SteadyLoop(pool, 'app.example', 20, OUTAGE_MS + 10_000);
    await h.api.outage();
    const failuresBefore = h.portico.kubernetes!.view().resources.map((r) => r.failures);
    // While the API is away the cluster changes: a new Ingress is created.
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
    h.api.apply(
      'ingresses',
      ingress('late', { host: 'late.example', paths: [{ service: 'app', port: 80 }] }),
    );
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
    assert.equal((await get(pool, 'late.example')).status, 404, 'not seen while the API is away');
    const attempts = h.portico.kubernetes!.view().resources.map((r, i) => r.failures - failuresBefore[i]!);
    await h.api.heal();
    const healed = Date.now();
    await until(
      async () => (await get(pool, 'late.example')).status === 200,
      5_000,
      'late.example after healing',
    );
    const converged = Date.now() - healed;
    await loop.stop();
    assert.deepEqual(loop.failures, [], 'no request failed');
    assert.ok(loop.results.length > 1_000, `${loop.results.length} requests during the outage`);
    // Backoff 250 ms doubling to 1.5 s: about 40 attempts a minute per watch, never a hot loop.
    for (const n of attempts) assert.ok(n >= 10 && n <= 60, `${n} attempts in a minute`);
    assert.ok(converged < 2_000, `converged ${converged} ms after the API healed`);
  });
});
