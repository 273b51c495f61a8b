import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PorticoConfig, parseConfig } from '@portico/config';
import { diffConfig, patchConfig, WorkerConfigs } from 'portico';

const base = parseConfig({
  listeners: [{ name: 'web', port: 0 }],
  routes: Array.from({ length: 50 }, (_, i) => ({
    host: `h${i}.example`,
    paths: [{ path: '/', service: `s${i}` }],
  })),
  services: Array.from({ length: 50 }, (_, i) => ({
    name: `s${i}`,
    endpoints: [{ address: '10.0.0.1', port: i + 1 }],
  })),
  defaultService: 's0',
});

/** overIpc copies a value as the IPC channel does (JSON). */
const overIpc = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('config deltas to workers (diffConfig, patchConfig)', () => {
  it('carry only what is not the same object, and patch into the next config, the rest kept by identity', () => {
    const services = base.services.slice();
    services[7] = { ...services[7]!, endpoints: [{ ...services[7]!.endpoints[0]!, port: 9_999 }] };
    services.push({ ...services[0]!, name: 'new' });
    const routes = base.routes.slice(0, 49);
    const { defaultService: _gone, ...rest } = base;
    const next: PorticoConfig = {
      ...rest,
      services,
      routes,
      timeouts: { ...base.timeouts, clientIdleMs: 1_234 },
    };
    const delta = overIpc(diffConfig(base, next, 3));
    assert.equal(delta.from, 3);
    assert.deepEqual(
      delta.services.changed.map(([i]) => i),
      [7, 50],
    );
    assert.equal(delta.routes.changed.length, 0);
    assert.equal(delta.routes.length, 49);
    assert.deepEqual(Object.keys(delta.fields), ['timeouts']);
    assert.deepEqual(delta.removed, ['defaultService']);
    // The worker holds its own copy of the base (it came over IPC too).
    const workerBase = overIpc(base);
    const patched = patchConfig(workerBase, delta);
    assert.deepEqual(patched, next);
    assert.equal(patched.services[8], workerBase.services[8], 'an unchanged service is the very object');
    assert.equal(patched.routes[10], workerBase.routes[10]);
    assert.equal(patched.listeners, workerBase.listeners);
    assert.notEqual(patched.services[7], workerBase.services[7]);
  });

  it('the worker config of an unchanged service is the same object, so a delta leaves it out', () => {
    const configs = new WorkerConfigs({ workers: 2, cookieSecret: 'x'.repeat(32) });
    const first = configs.of(base);
    const services = base.services.slice();
    services[3] = { ...services[3]!, maxPendingRequests: 10 };
    const second = configs.of({ ...base, services });
    assert.equal(second.services[0], first.services[0]);
    assert.equal(second.listeners, first.listeners);
    assert.equal(second.services[3]!.maxPendingRequests, 5, 'its share of the limit');
    assert.deepEqual(
      diffConfig(first, second, 1).services.changed.map(([i]) => i),
      [3],
    );
  });
});
