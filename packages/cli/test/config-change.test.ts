import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PorticoConfig, parseConfig } from '@portico/config';
import { changeCounts, configChange, describeChange } from 'portico';

const config = (
  services: string[],
  routes: { name?: string; host?: string; service: string }[],
): PorticoConfig =>
  parseConfig({
    listeners: [{ name: 'web', port: 0 }],
    services: services.map((name) => ({ name, endpoints: [{ address: '127.0.0.1', port: 1 }] })),
    routes: routes.map((r) => ({
      ...(r.name === undefined ? {} : { name: r.name }),
      ...(r.host === undefined ? {} : { host: r.host }),
      paths: [{ path: '/', service: r.service }],
    })),
  });

describe('what a config change changes, for the "config applied" log line', () => {
  it('names what was added, removed and changed, per kind', () => {
    const before = config(
      ['a', 'b', 'c'],
      [
        { name: 'shop', service: 'a' },
        { host: 'x.example', service: 'b' },
      ],
    );
    const after = config(
      ['a', 'b', 'd'],
      [
        { name: 'shop', service: 'd' },
        { host: 'x.example', service: 'b' },
      ],
    );
    const change = configChange(before, after);
    assert.deepEqual(change, {
      routes: { added: [], removed: [], changed: ['shop'] },
      services: { added: ['d'], removed: ['c'], changed: [] },
    });
    assert.equal(describeChange(change), 'routes changed: shop; services added: d; services removed: c');
    assert.deepEqual(changeCounts(change).services, { added: 1, removed: 1, changed: 0 });
  });

  it('says when nothing changed, treats the first config as all added, and bounds the names', () => {
    const one = config(['a'], [{ service: 'a' }]);
    assert.equal(
      describeChange(configChange(one, config(['a'], [{ service: 'a' }]))),
      'no change to listeners, routes, services or certificates',
    );
    assert.deepEqual(configChange(undefined, one).listeners, { added: ['web'], removed: [], changed: [] });
    const many = config(
      Array.from({ length: 25 }, (_, i) => `s${i}`),
      [{ service: 's0' }],
    );
    assert.match(
      describeChange(configChange(one, many)),
      /services added: s0, s1, .*s9 and 15 more; services removed: a$/,
    );
  });
});
