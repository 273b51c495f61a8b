import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PorticoConfig } from '@portico/config';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';

describe('incremental apply: a change rebuilds only the hosts it touches', () => {
  let a: Backend;
  let b: Backend;
  let proxy: TestProxy;

  before(async () => {
    a = await startBackend('a', (_req, res) => res.end('a'));
    b = await startBackend('b', (_req, res) => res.end('b'));
    proxy = await startProxy({
      routes: [
        { host: 'one.example', paths: [{ path: '/', service: 'a' }] },
        { host: 'two.example', paths: [{ path: '/', service: 'a' }] },
        { host: '*.wild.example', paths: [{ path: '/', service: 'a' }] },
      ],
      services: [
        { name: 'a', endpoints: endpointsOf(a) },
        { name: 'b', endpoints: endpointsOf(b) },
      ],
    });
  });
  after(async () => {
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  });

  const tableOf = (host: string) => proxy.proxy.snapshot.routes.selectHost(host).table;
  const body = async (host: string) => (await request(`${proxy.url}/`, { headers: { host } })).body.text();

  it('a changed route rebuilds its host only; the others keep their compiled tables', async () => {
    const config = proxy.proxy.snapshot.config;
    const before = {
      one: tableOf('one.example'),
      two: tableOf('two.example'),
      wild: tableOf('x.wild.example'),
    };
    const changed = { ...config.routes[1]!, paths: [{ ...config.routes[1]!.paths[0]!, service: 'b' }] };
    const next: PorticoConfig = { ...config, routes: [config.routes[0]!, changed, config.routes[2]!] };
    const snapshot = await proxy.proxy.apply(next);
    assert.deepEqual([...(snapshot.routing.rebuiltHosts as Set<string>)], ['two.example']);
    assert.equal(tableOf('one.example'), before.one, 'one.example: the same object');
    assert.equal(tableOf('x.wild.example'), before.wild, '*.wild.example: the same object');
    assert.notEqual(tableOf('two.example'), before.two);
    assert.equal(await body('two.example'), 'b');
    assert.equal(await body('one.example'), 'a');
  });

  it('a change to a service (its endpoints) rebuilds no route at all', async () => {
    const config = proxy.proxy.snapshot.config;
    const tables = ['one.example', 'two.example', 'x.wild.example'].map(tableOf);
    const endpointsOfB = config.services.find((s) => s.name === 'b')!.endpoints;
    const services = config.services.map((s) => (s.name === 'a' ? { ...s, endpoints: endpointsOfB } : s));
    const snapshot = await proxy.proxy.apply({ ...config, services });
    assert.deepEqual([...(snapshot.routing.rebuiltHosts as Set<string>)], []);
    assert.deepEqual(['one.example', 'two.example', 'x.wild.example'].map(tableOf), tables);
    assert.equal(await body('one.example'), 'b', 'the route reaches the service as it is now');
  });

  it('only changed services get new balancers; a removed one is gone, an added one serves', async () => {
    const config = proxy.proxy.snapshot.config;
    const before = proxy.proxy.snapshot.services;
    const balancerB = before.get('b');
    // A copy of b's validated config under another name, as a source would hand it over.
    const c = { ...structuredClone(config.services.find((x) => x.name === 'b')!), name: 'c' };
    const withC = await proxy.proxy.apply({ ...config, services: [...config.services, c] });
    assert.equal(withC.services.get('b'), balancerB, 'an unchanged service keeps its balancer');
    assert.equal(withC.services.get('a'), before.get('a'));
    assert.deepEqual(withC.serviceChanges !== 'all' && withC.serviceChanges.added.map((x) => x.name), ['c']);
    const routed = { ...config.routes[0]!, paths: [{ ...config.routes[0]!.paths[0]!, service: 'c' }] };
    const next = await proxy.proxy.apply({
      ...withC.config,
      routes: [routed, ...withC.config.routes.slice(1)],
    });
    assert.equal(await body('one.example'), 'b', 'the new service serves');
    const without = await proxy.proxy.apply({
      ...next.config,
      routes: config.routes,
      services: next.config.services.filter((s) => s.name !== 'c'),
    });
    assert.equal(without.services.get('c'), undefined);
    assert.equal(without.services.size, 2);
    assert.deepEqual(without.serviceChanges !== 'all' && without.serviceChanges.removed, ['c']);
    assert.deepEqual([...without.services.keys()].sort(), ['a', 'b']);
  });

  it('a removed route takes its host with it; a new config object from a file rebuilds everything', async () => {
    const config = proxy.proxy.snapshot.config;
    const snapshot = await proxy.proxy.apply({ ...config, routes: [config.routes[0]!, config.routes[1]!] });
    assert.deepEqual([...(snapshot.routing.rebuiltHosts as Set<string>)], ['*.wild.example']);
    assert.equal((await request(`${proxy.url}/`, { headers: { host: 'x.wild.example' } })).statusCode, 404);
    const fresh = structuredClone(proxy.proxy.snapshot.config);
    const rebuilt = await proxy.proxy.apply({
      ...fresh,
      timeouts: { ...fresh.timeouts, clientIdleMs: 61_000 },
    });
    assert.equal(rebuilt.routing.rebuiltHosts, 'all', 'what every route depends on changed');
  });
});
