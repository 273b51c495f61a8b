import type { Writable } from 'node:stream';

/**
 * writeInBursts writes `body` to `out` as bursts of 200 kB (a proxy streams those through a read buffer
 * of its own) between trickles of 1-12 kB, one per turn of the event loop (those land in the read buffer
 * sockets share), honouring backpressure, and then ends `out`.
 */
export function writeInBursts(out: Writable, body: Buffer): void {
  let at = 0;
  let blocks = 0;
  const pump = () => {
    while (at < body.length) {
      const burst = blocks++ % 3 === 0;
      const end = Math.min(body.length, at + (burst ? 200_000 : 1_000 + ((blocks * 997) % 11_000)));
      const flushed = out.write(body.subarray(at, end));
      at = end;
      if (!flushed) return void out.once('drain', pump);
      if (!burst) return void setImmediate(pump);
    }
    out.end();
  };
  pump();
}
