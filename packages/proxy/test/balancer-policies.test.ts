import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Available,
  BoundedLoads,
  EndpointState,
  leastRequest,
  Maglev,
  type Member,
  peakEwma,
  RandomSelector,
  RingHash,
  RoundRobin,
  type Selector,
} from '@portico/proxy';

const all: Available = () => true;
const none: readonly EndpointState[] = [];

function members(weights: number[]): Member[] {
  return weights.map((weight, i) => ({ endpoint: new EndpointState(`10.0.0.${i + 1}`, 8080), weight }));
}

function distribution(
  selector: Selector,
  picks: number,
  key?: (i: number) => string,
): Map<EndpointState, number> {
  const counts = new Map<EndpointState, number>();
  for (let i = 0; i < picks; i++) {
    const endpoint = selector.select(key?.(i), none, all)!;
    counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1);
  }
  return counts;
}

function assertWithinShare(
  counts: Map<EndpointState, number>,
  ms: Member[],
  picks: number,
  tolerance: number,
) {
  const total = ms.reduce((s, m) => s + m.weight, 0);
  for (const m of ms) {
    const share = (counts.get(m.endpoint) ?? 0) / picks;
    const expected = m.weight / total;
    assert.ok(
      Math.abs(share - expected) <= tolerance * expected,
      `${m.endpoint.key}: ${share.toFixed(4)} vs ${expected.toFixed(4)}`,
    );
  }
}

describe('distribution follows weights within 5% over 10,000 picks', () => {
  const weights = [1, 2, 3, 4];
  it('round robin (weighted, EDF) is exact and smooth', () => {
    const ms = members(weights);
    const rr = new RoundRobin(ms);
    assertWithinShare(distribution(rr, 10_000), ms, 10_000, 0.01);
    // Smooth: the heaviest endpoint never gets more than two picks in a row.
    const seq = Array.from({ length: 100 }, () => rr.select(undefined, none, all)!);
    for (let i = 2; i < seq.length; i++) assert.ok(!(seq[i] === seq[i - 1] && seq[i] === seq[i - 2]));
  });
  it('round robin with equal weights rotates', () => {
    const ms = members([1, 1, 1]);
    const rr = new RoundRobin(ms);
    const first = [0, 1, 2].map(() => rr.select(undefined, none, all));
    assert.equal(new Set(first).size, 3);
  });
  it('random (weighted)', () => {
    const ms = members(weights);
    assertWithinShare(distribution(new RandomSelector(ms), 10_000), ms, 10_000, 0.05 * 2.5);
  });
  it('least-request P2C with idle endpoints draws by weight', () => {
    const ms = members(weights);
    assertWithinShare(distribution(leastRequest(ms), 10_000), ms, 10_000, 0.15);
  });
  it('least-request prefers the less loaded of its two draws', () => {
    const ms = members([1, 1]);
    ms[0]!.endpoint.active = 10;
    const counts = distribution(leastRequest(ms), 1_000);
    assert.equal(counts.get(ms[1]!.endpoint), 1_000);
  });
  it('peak EWMA steers away from a slow endpoint', () => {
    const ms = members([1, 1, 1]);
    const now = Date.now();
    ms[0]!.endpoint.recordLatency(200, now);
    ms[1]!.endpoint.recordLatency(5, now);
    ms[2]!.endpoint.recordLatency(5, now);
    const counts = distribution(peakEwma(ms), 3_000);
    assert.ok((counts.get(ms[0]!.endpoint) ?? 0) < 50, 'the slow endpoint is picked only when drawn twice');
  });
  it('maglev spreads keys by weight (within 5%)', () => {
    const ms = members(weights);
    const maglev = new Maglev(ms, new BoundedLoads(0, () => 0, ms.length), 65_537);
    assertWithinShare(
      distribution(maglev, 40_000, (i) => `user-${i}`),
      ms,
      40_000,
      0.05,
    );
  });
  it('ring hash spreads keys by weight (ketama: 160 points per average server, so within 15%)', () => {
    const ms = members(weights);
    const ring = new RingHash(ms, new BoundedLoads(0, () => 0, ms.length));
    assertWithinShare(
      distribution(ring, 40_000, (i) => `user-${i}`),
      ms,
      40_000,
      0.15,
    );
  });
});

describe('consistent hashing', () => {
  for (const [name, make] of [
    ['ring-hash', (m: Member[]) => new RingHash(m, new BoundedLoads(0, () => 0, m.length))],
    ['maglev', (m: Member[]) => new Maglev(m, new BoundedLoads(0, () => 0, m.length), 65_537)],
  ] as const) {
    it(`${name}: the same key goes to the same endpoint, and adding 1 endpoint to 10 moves about 1/11 of keys`, () => {
      const ten = members(Array(10).fill(1));
      const eleven = [...ten, { endpoint: new EndpointState('10.0.1.99', 8080), weight: 1 }];
      const before = make(ten);
      const after = make(eleven);
      const again = make(members(Array(10).fill(1)));
      let moved = 0;
      const keys = 50_000;
      for (let i = 0; i < keys; i++) {
        const key = `session-${i}`;
        const a = before.select(key, none, all)!;
        assert.equal(again.select(key, none, all)!.key, a.key, 'stable across rebuilds and instances');
        if (after.select(key, none, all)!.key !== a.key) moved++;
      }
      const share = moved / keys;
      assert.ok(share > 0.06 && share < 0.13, `${(share * 100).toFixed(1)}% of keys moved (ideal 9.1%)`);
    });

    it(`${name}: an unusable endpoint's keys move, the others' stay`, () => {
      const ms = members(Array(5).fill(1));
      const selector = make(ms);
      const down = ms[2]!.endpoint;
      const skipDown: Available = (e) => e !== down;
      for (let i = 0; i < 2_000; i++) {
        const key = `k${i}`;
        const normal = selector.select(key, none, all)!;
        const chosen = selector.select(key, none, skipDown)!;
        assert.notEqual(chosen, down);
        if (normal !== down) assert.equal(chosen, normal);
      }
    });
  }

  it('bounded loads: a hot key spills over, and no endpoint exceeds the bound', () => {
    const ms = members(Array(4).fill(1));
    let inFlight = 0;
    const bounded = new BoundedLoads(1.25, () => inFlight, ms.length);
    const ring = new RingHash(ms, bounded);
    for (let i = 0; i < 100; i++) {
      const bound = bounded.bound();
      const endpoint = ring.select('the-same-hot-key', none, all)!;
      assert.ok(endpoint.active < bound, `endpoint had ${endpoint.active} in flight, bound ${bound}`);
      endpoint.active++;
      inFlight++;
    }
    const loads = ms.map((m) => m.endpoint.active);
    assert.ok(Math.max(...loads) <= Math.ceil((1.25 * 100) / 4), `loads ${loads}`);
    assert.equal(
      loads.reduce((a, b) => a + b, 0),
      100,
    );
  });
});

describe('exclusion and availability', () => {
  it('every policy skips excluded and unavailable endpoints, and returns undefined when none is left', () => {
    for (const make of [
      (m: Member[]) => new RoundRobin(m),
      (m: Member[]) => new RoundRobin(m.map((x, i) => ({ ...x, weight: i + 1 }))),
      (m: Member[]) => new RandomSelector(m),
      (m: Member[]) => leastRequest(m),
      (m: Member[]) => peakEwma(m),
      (m: Member[]) => new RingHash(m, new BoundedLoads(1.25, () => 0, m.length)),
      (m: Member[]) => new Maglev(m, new BoundedLoads(1.25, () => 0, m.length), 65_537),
    ]) {
      const ms = members([1, 1, 1]);
      const selector = make(ms);
      const [a, b, c] = ms.map((m) => m.endpoint);
      for (let i = 0; i < 50; i++) {
        const got = selector.select(`key-${i}`, [a!], (e) => e !== b);
        assert.equal(got, c);
      }
      assert.equal(
        selector.select('k', [a!, c!], (e) => e !== b),
        undefined,
      );
    }
  });
});
