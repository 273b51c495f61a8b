import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { parseConfig } from '@portico/config';
import {
  EndpointRegistry,
  type EndpointState,
  type RequestKeys,
  ServiceBalancer,
  ServiceRegistry,
} from '@portico/proxy';
import { request } from 'undici';
import { startBackend } from './helpers/backend.ts';
import { startProxy } from './helpers/start-proxy.ts';

function balancer(service: Record<string, unknown>, endpoints = 4): ServiceBalancer {
  const config = parseConfig({
    listeners: [{ name: 'x', port: 0 }],
    services: [
      {
        name: 's',
        endpoints: Array.from({ length: endpoints }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 80 })),
        ...service,
      },
    ],
  });
  return new ServiceBalancer(config.services[0]!, new EndpointRegistry(), new ServiceRegistry().get('s'));
}

function balancerIn(registry: EndpointRegistry, name: string): ServiceBalancer {
  const config = parseConfig({
    listeners: [{ name: 'l', port: 0 }],
    services: [{ name, endpoints: [{ address: '10.0.0.1', port: 80 }], panicThresholdPercent: 0 }],
  });
  return new ServiceBalancer(config.services[0]!, registry, new ServiceRegistry().get(name));
}

const keys = (header?: string): RequestKeys => ({
  clientAddress: () => '192.0.2.1',
  header: () => header,
  cookie: () => undefined,
  path: () => '/',
  query: () => undefined,
});
const none: readonly EndpointState[] = [];

describe('ServiceBalancer', () => {
  it('ejects after consecutive failures, for longer each time, but never more than maxEjectionPercent', () => {
    const b = balancer({
      outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 1_000, maxEjectionPercent: 50 },
    });
    const [e0, e1, e2] = b.members.map((m) => m.endpoint);
    b.recordFailure(e0!);
    assert.equal(e0!.ejected, false, 'one failure is not enough');
    b.recordFailure(e0!);
    assert.equal(e0!.ejected, true);
    const firstUntil = e0!.ejectedUntil;
    b.recordFailure(e1!);
    b.recordFailure(e1!);
    assert.equal(e1!.ejected, true, 'two of four is 50%');
    b.recordFailure(e2!);
    b.recordFailure(e2!);
    assert.equal(e2!.ejected, false, 'a third would exceed 50%');
    assert.ok(firstUntil - Date.now() <= 1_000);
    e0!.ejected = false; // as the timer would
    b.recordFailure(e0!);
    b.recordFailure(e0!);
    assert.ok(e0!.ejectedUntil - Date.now() > 1_000, 'the second ejection lasts longer');
    for (let i = 0; i < 50; i++)
      assert.ok(![e0, e1].includes(b.choose(keys(), none).endpoint), 'ejected endpoints get nothing');
  });

  it('a success resets the failure run', () => {
    const b = balancer({ outlierDetection: { consecutiveFailures: 2 } });
    const e = b.members[0]!.endpoint;
    b.recordFailure(e);
    b.recordSuccess(e);
    b.recordFailure(e);
    assert.equal(e.ejected, false);
  });

  it('slow start gives a new endpoint a small share that grows over the window', () => {
    const b = balancer({ slowStartMs: 60_000 }, 2);
    const [old, fresh] = b.members.map((m) => m.endpoint);
    old!.availableSince = Date.now() - 120_000;
    fresh!.availableSince = Date.now();
    let freshPicks = 0;
    for (let i = 0; i < 2_000; i++) if (b.choose(keys(), none).endpoint === fresh) freshPicks++;
    assert.ok(freshPicks < 300, `a brand-new endpoint got ${freshPicks} of 2000 (about 10% expected)`);
    fresh!.availableSince = Date.now() - 45_000;
    let later = 0;
    for (let i = 0; i < 2_000; i++) if (b.choose(keys(), none).endpoint === fresh) later++;
    assert.ok(later > freshPicks * 2, `three quarters into the window it got ${later}`);
  });

  it('the retry budget allows minConcurrency retries, then a share of requests in flight', () => {
    const b = balancer({ retries: { attempts: 2, budgetPercent: 20, minConcurrency: 3 } });
    b.state.active = 10;
    b.state.retries = 2;
    assert.equal(b.mayRetry(), true);
    b.state.retries = 3;
    assert.equal(b.mayRetry(), false, '3 >= max(3, 20% of 10)');
    b.state.active = 100;
    assert.equal(b.mayRetry(), true, '3 < 20% of 100');
  });

  it('panic: below the threshold every non-disabled member is available again', () => {
    const b = balancer({ panicThresholdPercent: 50 });
    const ms = b.members.map((m) => m.endpoint);
    for (const e of ms.slice(1)) e.setHealthy(false);
    assert.equal(b.panic, true);
    const seen = new Set<EndpointState>();
    for (let i = 0; i < 40; i++) seen.add(b.choose(keys(), none).endpoint!);
    assert.equal(seen.size, 4);
    for (const e of ms) e.setHealthy(true);
    assert.equal(b.panic, false);
  });

  it('keeps endpoint state per service: two services sharing a pod port do not share health', () => {
    const registry = new EndpointRegistry();
    const a = balancerIn(registry, 'a');
    const b = balancerIn(registry, 'b');
    const [ea, eb] = [a.members[0]!.endpoint, b.members[0]!.endpoint];
    assert.notEqual(ea, eb);
    assert.equal(ea.key, eb.key, 'the same address');
    ea.setHealthy(false);
    assert.equal(a.choose(keys(), none).endpoint, undefined);
    assert.equal(b.choose(keys(), none).endpoint, eb, 'b is unaffected');
    assert.equal(registry.availability.value, 1, 'the change counted in this registry only');
    assert.equal(new EndpointRegistry().availability.value, 0);
  });

  it('header affinity pins each header value to one endpoint and falls back without the header', () => {
    const b = balancer({ affinity: { type: 'header', headerName: 'X-Tenant' } }, 5);
    for (const tenant of ['acme', 'globex', 'initech']) {
      const first = b.choose(keys(tenant), none).endpoint;
      for (let i = 0; i < 100; i++) assert.equal(b.choose(keys(tenant), none).endpoint, first);
    }
    const spread = new Set(Array.from({ length: 10 }, () => b.choose(keys(undefined), none).endpoint));
    assert.ok(spread.size > 1, 'no header: the policy decides');
  });

  it('client-ip affinity: two processes with their own tables pin a new client to the same endpoint', () => {
    // Two balancers stand for two workers (or two instances): separate registries, separate tables.
    const a = balancer({ affinity: { type: 'client-ip' } }, 6);
    const b = balancer({ affinity: { type: 'client-ip' } }, 6);
    const from = (address: string): RequestKeys => ({ ...keys(), clientAddress: () => address });
    const used = new Set<string>();
    for (let i = 1; i <= 200; i++) {
      const client = `198.51.100.${i}`;
      const mine = a.choose(from(client), none).endpoint!;
      assert.equal(b.choose(from(client), none).endpoint!.key, mine.key, client);
      used.add(mine.key);
    }
    assert.equal(used.size, 6, 'and the clients spread over every endpoint');
    // One endpoint goes: its clients move (the same way in both), the others stay.
    const gone = a.members[0]!.endpoint;
    gone.setDisabled(true);
    b.members[0]!.endpoint.setDisabled(true);
    for (let i = 1; i <= 200; i++) {
      const client = `198.51.100.${i}`;
      const mine = a.choose(from(client), none).endpoint!;
      assert.notEqual(mine, gone);
      assert.equal(b.choose(from(client), none).endpoint!.key, mine.key);
    }
  });
});

describe('TCP health checks', () => {
  it('take a closed port out of rotation and put it back when it listens again', async () => {
    const backend = await startBackend('tcp-checked');
    const port = backend.port;
    const other = await startBackend('other');
    const proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 's' }] }],
      services: [
        {
          name: 's',
          endpoints: [
            { address: '127.0.0.1', port },
            { address: '127.0.0.1', port: other.port },
          ],
          healthCheck: {
            type: 'tcp',
            intervalMs: 100,
            jitterMs: 0,
            unhealthyThreshold: 1,
            healthyThreshold: 1,
          },
          panicThresholdPercent: 0,
          outlierDetection: { consecutiveFailures: 0 },
        },
      ],
    });
    const served = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const res = await request(`${proxy.url}/`, { headers: { host: 'h' } });
        const text = await res.body.text();
        seen.add(res.statusCode === 200 ? JSON.parse(text).backend : `status ${res.statusCode}`);
      }
      return [...seen].sort();
    };
    try {
      await backend.close();
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.deepEqual(await served(), ['other']);
      const revived = createServer((_req, res) => res.end(JSON.stringify({ backend: 'tcp-checked' })));
      await new Promise<void>((resolve) => revived.listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.deepEqual(await served(), ['other', 'tcp-checked']);
      revived.closeAllConnections();
      revived.close();
    } finally {
      await proxy.close();
      await other.close();
    }
  });
});
