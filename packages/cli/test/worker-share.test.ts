import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '@portico/config';
import { workerShare } from 'portico';

describe('workerShare: instance-wide limits split over the workers', () => {
  const config = parseConfig({
    listeners: [
      {
        name: 'web',
        port: 0,
        maxConnections: 1_000,
        perSource: { newConnectionsPerSecond: 3, resetStreamsPerSecond: 0 },
      },
    ],
    services: [{ name: 'app', endpoints: [], maxConnectionsPerEndpoint: 7, maxPendingRequests: 100 }],
  });

  it('gives each of N workers limit / N, rounded down, at least 1; no limit stays no limit', () => {
    const share = workerShare(config, 4);
    assert.equal(share.listeners[0]!.maxConnections, 250);
    assert.equal(share.listeners[0]!.perSource.newConnectionsPerSecond, 1, '3 / 4 rounds up to one each');
    assert.equal(share.listeners[0]!.perSource.resetStreamsPerSecond, 0);
    assert.equal(share.services[0]!.maxConnectionsPerEndpoint, 1);
    assert.equal(share.services[0]!.maxPendingRequests, 25);
    assert.equal(config.listeners[0]!.maxConnections, 1_000, 'the config itself is left as it was');
  });

  it('one worker serves the config as it is', () => {
    assert.equal(workerShare(config, 1), config);
  });
});
