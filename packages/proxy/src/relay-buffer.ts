/**
 * SHARED_BYTES is the size of the one read buffer every socket that is not streaming shares: 16 KiB,
 * HAProxy's buffer size. What lands in it is copied out at once, so it is free again before the next read.
 */
const SHARED_BYTES = 16_384;

const SHARED = Buffer.allocUnsafeSlow(SHARED_BYTES);

/**
 * RelayBuffer decides where the next read from one socket lands (the `onread` option of `net.connect`),
 * so that relaying a stream reuses warm memory instead of filling a new buffer per read, as Node's
 * 'data' events do (profiles of 1 MiB transfers put a fifth of the proxy's CPU time in the kernel
 * copying into cold buffers, and a tenth in the collector freeing them):
 *
 * - a socket that is not streaming reads into one buffer shared by the process, and its bytes are
 *   copied out (a small read, as Node would allocate anyway); idle sockets hold no buffer of their own;
 * - a read that fills the shared buffer means a stream: the socket gets a buffer of its own, and its
 *   reads are handed on without a copy; the next read lands in the same buffer when the bytes were
 *   written on synchronously (`written`), in a new one when a write still holds them;
 * - a read that would have fit the shared buffer ends the stream: back to the shared one.
 */
export class RelayBuffer {
  /** #ownBytes is the size of the socket's own buffer: what one read takes at most while it streams. */
  readonly #ownBytes: number;
  /** #own is the socket's buffer while it streams. */
  #own: Buffer | undefined;
  #streaming = false;

  /** The socket's own buffer, while it streams, is `ownBytes` long (at least 32 KiB): 64 KiB, Node's read size, by default. */
  constructor(ownBytes = 65_536) {
    this.#ownBytes = Math.max(ownBytes, SHARED_BYTES * 2);
  }

  /** next returns the buffer the socket's next read lands in (`onread.buffer`). */
  next(): Buffer {
    if (!this.#streaming) return SHARED;
    this.#own ??= Buffer.allocUnsafeSlow(this.#ownBytes);
    return this.#own;
  }

  /**
   * take returns the `n` bytes a read put in `buffer` as a chunk to hand on: a copy when they are in the
   * shared buffer, a view of the socket's own buffer otherwise (see `written`).
   */
  take(n: number, buffer: Uint8Array): Buffer {
    if (buffer === SHARED) {
      if (n === SHARED_BYTES) this.#streaming = true;
      return Buffer.copyBytesFrom(SHARED, 0, n); // one allocation, no intermediate view
    }
    if (n <= SHARED_BYTES) {
      this.#streaming = false;
      this.#own = undefined; // the chunk may still be referenced; the GC frees the buffer after it
    }
    return (buffer as Buffer).subarray(0, n);
  }

  /**
   * written says whether the last chunk `take` returned was written on at once (nothing references it
   * any more) or is still held by a pending write, in which case its buffer is left to that write.
   */
  written(done: boolean): void {
    if (!done) this.#own = undefined;
  }
}
