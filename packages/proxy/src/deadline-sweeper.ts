/** Deadline is anything with a moment (ms since the epoch, 0 for none) after which it must act. */
export interface Deadline {
  deadline: number;
  onDeadline(now: number): void;
}

/** DEFAULT_SWEEP_INTERVAL_MS is how often deadlines are checked: every 250 ms. */
export const DEFAULT_SWEEP_INTERVAL_MS = 250;

/**
 * DeadlineSweeper enforces every timeout of the data plane with one timer: each registered object sets
 * its `deadline` field (a plain number write per request, no timer objects), and a sweep every
 * `intervalMs` calls `onDeadline` on those past due. Timeouts therefore fire within `intervalMs` of expiry.
 */
export class DeadlineSweeper {
  readonly #members = new Set<Deadline>();
  #timer: NodeJS.Timeout | undefined;
  readonly #intervalMs: number;

  constructor(intervalMs = DEFAULT_SWEEP_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  add(member: Deadline): void {
    this.#members.add(member);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.sweep(Date.now()), this.#intervalMs);
      this.#timer.unref();
    }
  }

  delete(member: Deadline): void {
    this.#members.delete(member);
  }

  /** sweep calls `onDeadline` on every member whose deadline has passed at `now`. */
  sweep(now: number): void {
    for (const member of this.#members) {
      if (member.deadline !== 0 && member.deadline <= now) member.onDeadline(now);
    }
  }

  /** stop clears the timer; members stay registered. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
