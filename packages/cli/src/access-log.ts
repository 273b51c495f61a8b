import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { REQUEST_CHANNEL, type RequestOutcome } from '@portico/proxy';
import { pino } from 'pino';
import { type AccessLogFormat, COMBINED, compileTemplate, consoleLine } from './access-log-format.ts';

/** AccessLogOptions say where access log lines go, how they look, and how many requests get one. */
export interface AccessLogOptions {
  /** destination is a file path, or `-` for standard output. */
  readonly destination: string;
  /**
   * sampleRate is the share of requests logged, 0 to 1; errors (status >= 500) and exchanges cut short
   * (client aborts, 499) are always logged.
   */
  readonly sampleRate: number;
  /**
   * format is `json` (the default), `combined`, `console` or a template (access-log-format.ts); without
   * one, standard output that is a terminal gets `console`.
   */
  readonly format?: AccessLogFormat;
}

/** AccessLog is a running access log: `reopen` after logrotate moved the file, `stop` at the end. */
export interface AccessLog {
  /** reopen opens the file again by its name (SIGUSR1, as nginx does after logrotate). */
  reopen(): void;
  /** stop stops logging and flushes what is buffered. */
  stop(): void;
}

/**
 * accessLogProblem says what is wrong with a format (an unknown `$variable`), or undefined: checked
 * before anything starts, so a typo is an error at start and not a log of dashes.
 */
export function accessLogProblem(format: AccessLogFormat | undefined): string | undefined {
  if (format === undefined || typeof format === 'string') return undefined;
  const compiled = compileTemplate(format.template);
  return typeof compiled === 'string' ? compiled : undefined;
}

/**
 * startAccessLog writes one line per request from the `portico:http:request` diagnostics channel: the
 * client, request id, method, host, path, query, protocol, status, route, service, endpoint, error code,
 * the phase it ended in, timings, user agent, referer and TLS details, in the chosen format. Writes are
 * asynchronous and batched (sonic-boom), off the request path, in whole lines.
 */
export function startAccessLog(options: AccessLogOptions): AccessLog {
  const toStdout = options.destination === '-';
  const destination = pino.destination({
    dest: toStdout ? 1 : options.destination,
    sync: false,
    mkdir: true,
    // Whole lines, at most a pipe's atomic write (PIPE_BUF) at a time: the lines of several worker
    // processes sharing standard output never interleave (a file is opened for appending, whose writes
    // do not either).
    maxWrite: 4_096,
  });
  const format = options.format ?? (toStdout && process.stdout.isTTY === true ? 'console' : 'json');
  let write: (outcome: RequestOutcome) => void;
  if (format === 'json') {
    const log = pino(
      { base: null, messageKey: 'msg', timestamp: pino.stdTimeFunctions.isoTime },
      destination,
    );
    write = (outcome) => log.info(outcome, 'request');
  } else if (format === 'console') {
    const colour = toStdout && process.stdout.isTTY === true;
    write = (outcome) => destination.write(`${consoleLine(outcome, new Date(), colour)}\n`);
  } else {
    const render = compileTemplate(format === 'combined' ? COMBINED : format.template);
    if (typeof render === 'string') throw new Error(render);
    write = (outcome) => destination.write(`${render(outcome, new Date())}\n`);
  }
  const rate = options.sampleRate;
  const onRequest = (message: unknown) => {
    const outcome = message as RequestOutcome;
    if (rate < 1 && outcome.status < 500 && outcome.phase === 'complete' && Math.random() >= rate) return;
    write(outcome);
  };
  subscribe(REQUEST_CHANNEL, onRequest);
  return {
    reopen: () => {
      if (!toStdout) destination.reopen();
    },
    stop: () => {
      unsubscribe(REQUEST_CHANNEL, onRequest);
      destination.flushSync();
    },
  };
}
