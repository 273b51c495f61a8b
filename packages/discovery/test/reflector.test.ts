import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient, Reflector, type WatchOptions } from '@portico/discovery';
import { FakeKubeApi } from './helpers/fake-kube-api.ts';
import { service } from './helpers/kube-fixtures.ts';
import { until } from './helpers/until.ts';

const FAST: WatchOptions = {
  pageSize: 2,
  backoffInitialMs: 50,
  backoffMaxMs: 400,
  healthyWatchMs: 2_000,
  watchIdleTimeoutMs: 500,
  watchTimeoutSeconds: 300,
};

describe('Reflector: list-and-watch with client-go semantics against a fake API server', () => {
  let api: FakeKubeApi;
  let client: KubeClient;
  let reflector: Reflector<{ metadata: { name: string } }> | undefined;
  before(async () => {
    api = new FakeKubeApi();
    await api.start();
    client = new KubeClient({ server: api.url, namespace: 'default', description: 'test' });
  });
  after(async () => {
    await reflector?.stop();
    await client.close();
    await api.close();
  });
  beforeEach(async () => {
    await reflector?.stop();
    api.faults = {};
    for (const s of api.list('services')) api.delete('services', s.metadata.namespace, s.metadata.name);
  });

  function start(options: Partial<WatchOptions> = {}) {
    let changes = 0;
    const r = new Reflector(
      client,
      { kind: 'Service', prefix: '/api/v1', plural: 'services' },
      { onChange: () => changes++, transform: (o) => o },
      { ...FAST, ...options },
    );
    reflector = r;
    r.start();
    return { r, changes: () => changes };
  }

  it('lists in pages, then follows ADDED, MODIFIED and DELETED', async () => {
    for (let i = 0; i < 5; i++) api.apply('services', service(`s${i}`));
    const { r } = start();
    await r.whenSynced();
    assert.equal(r.store.size, 5);
    assert.equal(r.stats.listPages, 3, 'five items in pages of two');
    await until(() => api.openWatches === 1, 2_000, 'watch open');
    const watch = api.requests.find((q) => q.watch)!;
    assert.equal(watch.query.get('allowWatchBookmarks'), 'true');
    assert.equal(watch.query.get('resourceVersion'), r.stats.resourceVersion);
    api.apply('services', service('s5'));
    api.delete('services', 'default', 's0');
    await until(() => r.store.has('default/s5') && !r.store.has('default/s0'));
    api.apply('secrets', { metadata: { name: 'unrelated' } });
    api.bookmark();
    await until(() => r.stats.resourceVersion === api.resourceVersion, 2_000, 'bookmark version');
    assert.equal(r.store.size, 5);
  });

  it('an expired continue token restarts the list unpaged', async () => {
    for (let i = 0; i < 5; i++) api.apply('services', service(`e${i}`));
    api.faults.expireContinue = true;
    const { r } = start();
    await r.whenSynced();
    assert.equal(r.store.size, 5);
    const lists = api.requests.filter((q) => !q.watch && q.plural === 'services');
    assert.equal(lists.at(-1)!.query.get('limit'), null, 'the fallback list is unpaged');
  });

  it('410 on the watch (HTTP status) relists and converges', async () => {
    api.apply('services', service('a'));
    const { r } = start();
    await r.whenSynced();
    await until(() => api.openWatches === 1);
    await api.outage();
    api.apply('services', service('b'));
    api.compact();
    await api.heal();
    await until(() => r.store.has('default/b'), 5_000, 'b after relist');
    assert.ok(r.stats.relists >= 1, 'relisted');
  });

  it('410 as an in-stream ERROR event relists, with bounded watch requests', async () => {
    api.apply('services', service('a'));
    api.faults.watchGoneInStream = true;
    const before = api.watchRequests();
    const { r } = start();
    await r.whenSynced();
    await sleep(1_000);
    const watches = api.watchRequests() - before;
    assert.ok(r.stats.relists >= 1);
    // Backoff 50 ms doubling to 400 ms with jitter: at most ~8 attempts in one second, never a hot loop.
    assert.ok(watches <= 10, `${watches} watch requests in 1 s`);
    api.faults = {};
    api.apply('services', service('c'));
    await until(() => r.store.has('default/c'), 3_000, 'c after the fault cleared');
  });

  it('500s on the watch back off and recover (the client-node informer stops for good here)', async () => {
    api.faults.watchStatus = 500;
    const before = api.watchRequests();
    const { r } = start();
    await r.whenSynced();
    await sleep(1_500);
    const watches = api.watchRequests() - before;
    assert.ok(watches >= 3 && watches <= 10, `${watches} watch requests in 1.5 s`);
    api.faults = {};
    api.apply('services', service('after-500'));
    await until(() => r.store.has('default/after-500'), 3_000);
  });

  it('a watch that hangs silently is recycled by the watchdog', async () => {
    api.faults.watchHang = true;
    const { r } = start();
    await r.whenSynced();
    await until(() => r.stats.watchdogRecycles >= 1, 3_000, 'watchdog');
    api.faults = {};
    api.apply('services', service('after-hang'));
    await until(() => r.store.has('default/after-hang'), 4_000);
  });

  it('a server that closes every watch at once gets exponential backoff, not a hot loop', async () => {
    api.faults.watchClose = true;
    const before = api.watchRequests();
    const { r } = start();
    await r.whenSynced();
    await sleep(2_000);
    const watches = api.watchRequests() - before;
    // 0, 50, 100, 200, 400, 400... ms (+ up to 100% jitter, capped at 400 ms): between 5 and 14 in 2 s.
    assert.ok(watches >= 4 && watches <= 14, `${watches} watch requests in 2 s`);
    api.faults = {};
    api.apply('services', service('after-close'));
    await until(() => r.store.has('default/after-close'), 3_000);
  });

  it('the server ending a watch by its timeout is followed by an immediate rewatch', async () => {
    const before = api.watchRequests();
    const { r } = start({ watchTimeoutSeconds: 0.5, healthyWatchMs: 100, watchIdleTimeoutMs: 5_000 });
    await r.whenSynced();
    await sleep(2_600);
    const watches = api.watchRequests() - before;
    assert.ok(watches >= 2, `rewatched (${watches})`);
    assert.equal(r.stats.failures, 0);
  });
});
