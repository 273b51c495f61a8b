import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '@portico/config';
import { workerConfig } from 'portico';

describe('workerConfig: what every worker serves alike', () => {
  const config = parseConfig({
    listeners: [
      {
        name: 'web',
        port: 0,
        maxConnections: 1_000,
        perSource: { newConnectionsPerSecond: 3, resetStreamsPerSecond: 0 },
      },
    ],
    services: [
      { name: 'app', endpoints: [], maxConnectionsPerEndpoint: 7, maxPendingRequests: 100 },
      { name: 'sticky', endpoints: [], affinity: { type: 'cookie' } },
      { name: 'signed', endpoints: [], affinity: { type: 'cookie', secret: 'mine-at-least-16-chars' } },
    ],
  });

  it('gives each of N workers limit / N, rounded down, at least 1; no limit stays no limit', () => {
    const share = workerConfig(config, { workers: 4, cookieSecret: 's3cret' });
    assert.equal(share.listeners[0]!.maxConnections, 250);
    assert.equal(share.listeners[0]!.perSource.newConnectionsPerSecond, 1, '3 / 4 rounds up to one each');
    assert.equal(share.listeners[0]!.perSource.resetStreamsPerSecond, 0);
    assert.equal(share.services[0]!.maxConnectionsPerEndpoint, 1);
    assert.equal(share.services[0]!.maxPendingRequests, 25);
    assert.equal(config.listeners[0]!.maxConnections, 1_000, 'the config itself is left as it was');
  });

  it("a route's rate limit: each worker gets rate / N and a share of the burst", () => {
    const limited = parseConfig({
      listeners: [{ name: 'web', port: 0 }],
      services: [{ name: 'app', endpoints: [] }],
      routes: [
        {
          rateLimit: { requestsPerSecond: 100, burst: 50 },
          inFlight: { max: 9, maxPerClient: 1 },
          paths: [{ path: '/', service: 'app' }],
        },
        { paths: [{ path: '/open', service: 'app' }] },
      ],
    });
    const share = workerConfig(limited, { workers: 4, cookieSecret: 's3cret' });
    assert.equal(share.routes[0]!.rateLimit!.requestsPerSecond, 25);
    assert.equal(share.routes[0]!.rateLimit!.burst, 12);
    assert.deepEqual(share.routes[0]!.inFlight, { max: 2, maxPerClient: 1, status: 503 });
    assert.equal(share.routes[1], limited.routes[1], 'a route without a limit is the same object');
  });

  it('one worker keeps the limits whole', () => {
    const one = workerConfig(config, { workers: 1, cookieSecret: 's3cret' });
    assert.deepEqual(one.listeners, config.listeners);
    assert.equal(one.services[0]!.maxPendingRequests, 100);
  });

  it("cookie affinity without a secret signs with the primary's, so every worker honours every cookie", () => {
    const share = workerConfig(config, { workers: 2, cookieSecret: 's3cret' });
    assert.equal(share.services[1]!.affinity?.secret, 's3cret');
    assert.equal(
      share.services[2]!.affinity?.secret,
      'mine-at-least-16-chars',
      'a secret the config gives is kept',
    );
    assert.equal(config.services[1]!.affinity?.secret, undefined);
  });
});
