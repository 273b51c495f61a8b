import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { REQUEST_CHANNEL, type RequestOutcome } from '@portico/proxy';
import { pino } from 'pino';

/** AccessLogOptions say where access log lines go and how many requests get one. */
export interface AccessLogOptions {
  /** destination is a file path, or `-` for standard output. */
  readonly destination: string;
  /**
   * sampleRate is the share of requests logged, 0 to 1; errors (status >= 500) and exchanges cut short
   * (client aborts, 499) are always logged.
   */
  readonly sampleRate: number;
}

/**
 * startAccessLog writes one JSON line per request (pino) from the `portico:http:request` diagnostics
 * channel: client, request id, method, host, path, status, route, service, endpoint, error code, the
 * phase it ended in and duration. Writes are asynchronous and batched (pino's sonic-boom), off the request path. It returns
 * a function that stops logging and flushes.
 */
export function startAccessLog(options: AccessLogOptions): () => void {
  const destination = pino.destination({
    dest: options.destination === '-' ? 1 : options.destination,
    sync: false,
    mkdir: true,
    // Whole lines, at most a pipe's atomic write (PIPE_BUF) at a time: the lines of several worker
    // processes sharing standard output never interleave (a file is opened for appending, whose writes
    // do not either).
    maxWrite: 4_096,
  });
  const log = pino({ base: null, messageKey: 'msg', timestamp: pino.stdTimeFunctions.isoTime }, destination);
  const rate = options.sampleRate;
  const onRequest = (message: unknown) => {
    const outcome = message as RequestOutcome;
    if (rate < 1 && outcome.status < 500 && outcome.phase === 'complete' && Math.random() >= rate) return;
    log.info(outcome, 'request');
  };
  subscribe(REQUEST_CHANNEL, onRequest);
  return () => {
    unsubscribe(REQUEST_CHANNEL, onRequest);
    destination.flushSync();
  };
}
