import type { Logger } from 'pino';

/**
 * logStoreState logs the store of global rate limits (Redis) going down (warn, with why: never its URL)
 * or answering again (info); `fields` say where (a worker's index).
 */
export function logStoreState(
  log: Logger,
  state: 'up' | 'down',
  message: string | undefined,
  fields: Record<string, unknown>,
): void {
  if (state === 'down')
    log.warn(
      { ...fields, reason: message },
      `rate limit store unreachable (${message ?? 'no answer'}): global limits follow their onStoreFailure`,
    );
  else log.info(fields, 'rate limit store answers again: global limits count across instances');
}
