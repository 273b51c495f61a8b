import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRequestId, RelayBuffer } from '@portico/proxy';

/** read fills what `relay.next()` returns with `n` bytes of `value`, as a socket read would. */
function read(relay: RelayBuffer, n: number, value: number): { buffer: Buffer; chunk: Buffer } {
  const buffer = relay.next();
  buffer.fill(value, 0, n);
  return { buffer, chunk: relay.take(n, buffer) };
}

describe('RelayBuffer: where reads from a relayed socket land', () => {
  it('sockets that are not streaming share one buffer, and their bytes are copied out of it', () => {
    const a = new RelayBuffer();
    const b = new RelayBuffer();
    assert.equal(a.next(), b.next(), 'one shared buffer');
    const first = read(a, 100, 1);
    const second = read(b, 100, 2); // overwrites the shared buffer
    assert.notEqual(first.chunk.buffer, first.buffer.buffer, 'a copy, not a view of the shared buffer');
    assert.ok(
      first.chunk.every((byte) => byte === 1),
      'the first chunk kept its bytes',
    );
    assert.ok(second.chunk.every((byte) => byte === 2));
  });

  it('a read that fills the shared buffer starts a stream in a buffer of its own, reused while writes complete', () => {
    const relay = new RelayBuffer();
    const shared = relay.next();
    read(relay, shared.length, 1);
    const own = relay.next();
    assert.notEqual(own, shared);
    assert.ok(own.length > shared.length);
    const { chunk } = read(relay, own.length, 3);
    assert.equal(chunk.buffer, own.buffer, 'handed on without a copy');
    relay.written(true);
    assert.equal(relay.next(), own, 'written at once: the same buffer again');
  });

  it('a chunk a pending write still holds keeps its buffer: the next read lands in a new one', () => {
    const relay = new RelayBuffer();
    read(relay, relay.next().length, 1);
    const own = relay.next();
    const { chunk } = read(relay, own.length, 4);
    relay.written(false);
    const next = relay.next();
    assert.notEqual(next, own);
    next.fill(5);
    assert.ok(
      chunk.every((byte) => byte === 4),
      'the pending chunk is untouched',
    );
  });

  it('a read that would have fit the shared buffer ends the stream', () => {
    const relay = new RelayBuffer();
    const shared = relay.next();
    read(relay, shared.length, 1);
    read(relay, 100, 2);
    assert.equal(relay.next(), shared);
  });
});

describe('nextRequestId', () => {
  it('returns distinct version 8 UUIDs', () => {
    const ids = Array.from({ length: 1000 }, () => nextRequestId());
    for (const id of ids)
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
  });
});
