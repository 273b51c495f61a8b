import { LRUCache } from 'lru-cache';

/** MAX_SOURCES is how many client addresses one listener remembers; the least recently seen are forgotten. */
const MAX_SOURCES = 65_536;

/** PerSourceLimits are a listener's `perSource` settings: per second each, 0 for no limit. */
export interface PerSourceLimits {
  readonly newConnectionsPerSecond: number;
  readonly resetStreamsPerSecond: number;
}

/** PENALTY_MS is how long an address that went over its reset budget has its new connections refused: 1 s. */
const PENALTY_MS = 1_000;

/** Budget is one address's token buckets (tokens refill continuously, up to one second's worth). */
interface Budget {
  connections: number;
  resets: number;
  at: number;
  /** refusedUntil is when an address over its reset budget may connect again (ms since the epoch). */
  refusedUntil: number;
}

/**
 * SourceLimits bounds what one client address can cause on a listener each second, across all its
 * connections, so reconnecting does not buy a fresh budget: new connections, and HTTP/2 streams it
 * cancels. An address that goes over its reset budget has its new connections refused for `PENALTY_MS`.
 * The table is bounded (`MAX_SOURCES`), so a flood of addresses cannot grow it.
 */
export class SourceLimits {
  readonly #limits: PerSourceLimits;
  readonly #budgets = new LRUCache<string, Budget>({ max: MAX_SOURCES });

  constructor(limits: PerSourceLimits) {
    this.#limits = limits;
  }

  /** admit takes a new connection from `address` out of its budget; false: refuse it. */
  admit(address: string, now: number): boolean {
    if (this.#limits.newConnectionsPerSecond === 0) {
      // Only addresses that cancelled streams have a budget; a plain connection adds no entry.
      const known = this.#limits.resetStreamsPerSecond === 0 ? undefined : this.#budgets.get(address);
      return known === undefined || now >= known.refusedUntil;
    }
    const budget = this.#budget(address, now);
    if (now < budget.refusedUntil || budget.connections < 1) return false;
    budget.connections--;
    return true;
  }

  /** chargeReset takes one cancelled stream from `address`'s budget; false: it is over its budget. */
  chargeReset(address: string, now: number): boolean {
    if (this.#limits.resetStreamsPerSecond === 0) return true;
    const budget = this.#budget(address, now);
    if (budget.resets < 1) {
      budget.refusedUntil = now + PENALTY_MS;
      return false;
    }
    budget.resets--;
    return true;
  }

  /** #budget returns `address`'s buckets, refilled for the time since they were last used. */
  #budget(address: string, now: number): Budget {
    const { newConnectionsPerSecond, resetStreamsPerSecond } = this.#limits;
    let budget = this.#budgets.get(address);
    if (budget === undefined) {
      budget = {
        connections: newConnectionsPerSecond,
        resets: resetStreamsPerSecond,
        at: now,
        refusedUntil: 0,
      };
      this.#budgets.set(address, budget);
      return budget;
    }
    const seconds = (now - budget.at) / 1000;
    if (seconds > 0) {
      budget.connections = Math.min(
        newConnectionsPerSecond,
        budget.connections + seconds * newConnectionsPerSecond,
      );
      budget.resets = Math.min(resetStreamsPerSecond, budget.resets + seconds * resetStreamsPerSecond);
      budget.at = now;
    }
    return budget;
  }
}
