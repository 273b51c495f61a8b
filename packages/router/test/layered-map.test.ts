import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LayeredMap } from '@portico/router';

describe('LayeredMap', () => {
  it('behaves as a Map through 5,000 random changes, and leaves every earlier version as it was', () => {
    let state = 7;
    const pick = (n: number) => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      return state % n;
    };
    let map = LayeredMap.from<string, number>(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    let model = new Map(map);
    const versions: [LayeredMap<string, number>, Map<string, number>][] = [];
    for (let step = 0; step < 5_000; step++) {
      const changes: [string, number | undefined][] = [];
      for (let c = pick(4); c >= 0; c--) changes.push([`k${pick(400)}`, pick(3) === 0 ? undefined : step]);
      map = map.with(changes);
      model = new Map(model);
      for (const [key, value] of changes) {
        if (value === undefined) model.delete(key);
        else model.set(key, value);
      }
      assert.equal(map.size, model.size, `size at step ${step}`);
      if (step % 250 === 0) versions.push([map, model]);
    }
    for (const [version, expected] of versions) {
      assert.deepEqual(new Map(version), expected);
      for (let i = 0; i < 400; i++) {
        assert.equal(version.get(`k${i}`), expected.get(`k${i}`));
        assert.equal(version.has(`k${i}`), expected.has(`k${i}`));
      }
    }
  });

  it('keeps the order of a Map: replaced keys stay in place, added keys come last', () => {
    const map = LayeredMap.from([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]).with([
      ['b', 20],
      ['d', 4],
      ['a', undefined],
    ]);
    assert.deepEqual([...map.keys()], ['b', 'c', 'd']);
    assert.deepEqual([...map.values()], [20, 3, 4]);
    assert.equal(map.size, 3);
    // Unlike a Map, a key removed and set again takes back its place in the base.
    const removedThenAdded = map.with([['a', 5]]);
    assert.deepEqual([...removedThenAdded.keys()], ['a', 'b', 'c', 'd']);
  });

  it('removing a key that is not there changes nothing', () => {
    const map = LayeredMap.from([['a', 1]]).with([['zz', undefined]]);
    assert.equal(map.size, 1);
    assert.deepEqual([...map], [['a', 1]]);
  });
});
