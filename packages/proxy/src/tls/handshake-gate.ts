import type { Socket } from 'node:net';

/**
 * SLOT_MAX_MS is the longest one handshake holds its slot: 250 ms. Its CPU cost is paid when the
 * ClientHello arrives; a peer that stalls after that costs nothing and must not keep others waiting.
 */
const SLOT_MAX_MS = 250;

const WAITING = 0;
const SHAKING = 1;
const DONE = 2;

/**
 * HandshakeGate runs at most `max` TLS handshakes of one listener at once (HAProxy's `maxsslconn` in
 * spirit). A connection beyond that waits, paused and unread, until a slot frees, so a flood of new TLS
 * connections takes turns instead of taking the event loop from established connections. A slot frees
 * when the handshake completes or fails, when the connection closes, or after `SLOT_MAX_MS`.
 */
export class HandshakeGate {
  /** max is how many handshakes may run at once (`listeners[].maxConcurrentHandshakes`); 0: no cap. */
  max: number;
  #running = 0;
  readonly #waiting: (() => boolean)[] = [];
  #head = 0;

  constructor(max: number) {
    this.max = max;
  }

  /**
   * admit calls `start(release)` for `socket` once it has a slot; `start` begins the handshake and calls
   * `release` when it completes or fails. Until its turn the socket is paused, and closed if the wait
   * exceeds `waitMs`.
   */
  admit(socket: Socket, waitMs: number, start: (release: () => void) => void): void {
    if (this.max === 0) {
      start(NO_RELEASE); // no cap: nothing to count
      return;
    }
    let state = WAITING;
    let slotTimer: NodeJS.Timeout | undefined;
    const release = () => {
      if (state === SHAKING) {
        clearTimeout(slotTimer);
        this.#leave();
      }
      state = DONE;
    };
    const giveUp = () => socket.destroy();
    socket.pause();
    socket.setTimeout(waitMs, giveUp);
    socket.once('close', release);
    this.#enter(() => {
      socket.setTimeout(0);
      socket.off('timeout', giveUp);
      if (state === DONE || socket.destroyed) return false;
      state = SHAKING;
      slotTimer = setTimeout(release, SLOT_MAX_MS).unref();
      start(release);
      return true;
    });
  }

  /** #enter runs `begin` now if a slot is free, or when one frees; false from `begin` frees the slot again. */
  #enter(begin: () => boolean): void {
    if (this.#running < this.max) {
      this.#running++;
      if (!begin()) this.#running--;
      return;
    }
    this.#waiting.push(begin);
  }

  /** #leave frees a slot and gives it to the next connection still waiting. */
  #leave(): void {
    this.#running--;
    while (this.#running < this.max && this.#head < this.#waiting.length) {
      const begin = this.#waiting[this.#head]!;
      this.#waiting[this.#head++] = NO_BEGIN;
      if (this.#head === this.#waiting.length) {
        this.#waiting.length = 0;
        this.#head = 0;
      }
      this.#running++;
      if (!begin()) this.#running--;
    }
  }
}

function NO_BEGIN(): boolean {
  return false;
}

function NO_RELEASE(): void {}
