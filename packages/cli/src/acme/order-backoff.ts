/** MAX_RETRY_MS bounds the wait after failed orders: 6 hours. */
export const MAX_RETRY_MS = 6 * 3_600_000;

/** OrderAttempts is what a certificate's orders have done: counts, the last error, when to try next. */
export interface OrderAttempts {
  /** failures counts the failures since the last success (for the backoff). */
  failures: number;
  failed: number;
  lastError: string | undefined;
  /** retryAt is when the next order may start after a failure (ms since the epoch). */
  retryAt: number;
}

/**
 * orderFailed records a failed order and returns how long to wait before the next: `retryMinMs`,
 * doubled after each failure in a row, up to 6 hours, which keeps a client inside a CA's rate limits.
 */
export function orderFailed(attempts: OrderAttempts, error: Error, retryMinMs: number): number {
  attempts.failures++;
  attempts.failed++;
  attempts.lastError = error.message;
  const wait = Math.min(MAX_RETRY_MS, retryMinMs * 2 ** (attempts.failures - 1));
  attempts.retryAt = Date.now() + wait;
  return wait;
}

/** orderSucceeded ends the backoff after an order that worked. */
export function orderSucceeded(attempts: OrderAttempts): void {
  attempts.failures = 0;
  attempts.retryAt = 0;
}
