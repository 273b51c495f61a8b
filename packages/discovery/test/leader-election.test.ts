import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConfigUpdate, KubeClient, KubernetesDiscovery, LeaseElection } from '@portico/discovery';
import { FakeKubeApi } from './helpers/fake-kube-api.ts';
import { endpointSlice, ingress, ingressClass, service } from './helpers/kube-fixtures.ts';
import { until } from './helpers/until.ts';

const TIMING = { leaseDurationMs: 1_000, renewDeadlineMs: 700, retryPeriodMs: 150 };

describe('leader election on a coordination.k8s.io/v1 Lease; only the leader writes Ingress status', () => {
  let api: FakeKubeApi;
  before(async () => {
    api = new FakeKubeApi();
    await api.start();
    api.apply('ingressclasses', ingressClass('portico'));
    api.apply('services', service('web'));
    api.apply(
      'endpointslices',
      endpointSlice('web-1', 'web', [{ address: '10.0.0.1' }], [{ name: 'http', port: 8080 }]),
    );
    api.apply('ingresses', ingress('web', { host: 'web.example', paths: [{ service: 'web', port: 80 }] }));
    api.apply('ingresses', ingress('shop', { host: 'shop.example', paths: [{ service: 'web', port: 80 }] }));
  });
  after(() => api.close());

  it('two instances: one leads and publishes its addresses; when it stops, the other takes over', async (t) => {
    const start = (identity: string, address: string) => {
      const d = new KubernetesDiscovery({
        connection: { server: api.url, token: identity, namespace: 'portico-system', description: identity },
        base: { listeners: [{ name: 'http', port: 0 }] },
        election: { identity, ...TIMING },
        publish: { addresses: [address] },
      });
      const updates: ConfigUpdate[] = [];
      t.after(() => d.stop());
      return { d, updates, started: d.start((u) => void updates.push(u)) };
    };
    const a = start('edge-a', '192.0.2.1');
    await a.started;
    await until(() => a.d.leading, 3_000, 'edge-a to lead');
    const b = start('edge-b', '2001:db8::2');
    await b.started;
    assert.equal(a.updates.length, 1);
    assert.equal(b.updates.length, 1, 'followers serve too: every instance translates');
    const status = (name: string) =>
      (
        api.get('ingresses', 'default', name)?.status as
          | { loadBalancer?: { ingress?: unknown[] } }
          | undefined
      )?.loadBalancer?.ingress;
    await until(
      () => ['web', 'shop'].every((name) => JSON.stringify(status(name)) === '[{"ip":"192.0.2.1"}]'),
      3_000,
      'status of both Ingresses from the leader',
    );
    await sleep(500);
    assert.equal(b.d.leading, false);
    const writers = (token: string) =>
      api.requests.filter(
        (r) => r.method === 'PATCH' && r.path.endsWith('/status') && r.authorization === `Bearer ${token}`,
      ).length;
    assert.equal(writers('edge-b'), 0, 'the follower never writes status');
    assert.equal(writers('edge-a'), 2, 'the leader wrote each Ingress once, then only on change');
    const lease = api.get('leases', 'portico-system', 'portico-leader')!;
    assert.equal((lease.spec as { holderIdentity: string }).holderIdentity, 'edge-a');

    await a.d.stop();
    await until(() => b.d.leading, 3_000, 'edge-b to take over');
    await until(
      () => ['web', 'shop'].every((name) => JSON.stringify(status(name)) === '[{"ip":"2001:db8::2"}]'),
      3_000,
      'status of both Ingresses from the new leader',
    );
    assert.ok(writers('edge-b') >= 2);
    assert.equal(b.updates.length, 1, 'status writes change no route: nothing is applied again');
  });

  it('of two instances racing for a free Lease, exactly one wins (409 Conflict for the other)', async (t) => {
    api.delete('leases', 'portico-system', 'race');
    const clients = ['x', 'y', 'z'].map(
      (id) => new KubeClient({ server: api.url, token: id, namespace: 'portico-system', description: id }),
    );
    const elections = clients.map(
      (client, i) =>
        new LeaseElection(
          client,
          { namespace: 'portico-system', name: 'race', identity: `racer-${i}`, ...TIMING },
          () => {},
        ),
    );
    t.after(async () => {
      await Promise.all(elections.map((e) => e.stop()));
      await Promise.all(clients.map((c) => c.close()));
    });
    for (const e of elections) e.start();
    await sleep(1_000);
    assert.equal(elections.filter((e) => e.leading).length, 1);
  });

  it('a leader that cannot renew (API outage) stops leading within the renew deadline', async (t) => {
    const client = new KubeClient({ server: api.url, namespace: 'portico-system', description: 'solo' });
    const changes: boolean[] = [];
    const e = new LeaseElection(
      client,
      { namespace: 'portico-system', name: 'solo', identity: 'solo', ...TIMING },
      (l) => changes.push(l),
    );
    t.after(async () => {
      await e.stop();
      await client.close();
    });
    e.start();
    await until(() => e.leading, 2_000, 'lead');
    await api.outage();
    await until(() => !e.leading, 2_000, 'step down');
    await api.heal();
    await until(() => e.leading, 3_000, 'lead again');
    assert.deepEqual(changes, [true, false, true]);
  });
});
