import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { OCSP_CHANNEL, type OcspEvent } from '@portico/proxy';
import type { Logger } from 'pino';

/**
 * logOcspEvent logs one OCSP fetch for stapling: a revoked certificate (error), a responder that
 * failed (warn), a response fetched (debug). `fields` adds context (the worker that fetched it).
 */
export function logOcspEvent(log: Logger, event: OcspEvent, fields: Record<string, unknown> = {}): void {
  const all = { ...fields, subject: event.subject, url: event.url, status: event.status, error: event.error };
  if (event.error !== undefined)
    log.warn(
      all,
      `OCSP response for ${event.subject} not fetched from ${event.url}: ${event.error}; handshakes go unstapled meanwhile (retry in 5 min)`,
    );
  else if (event.status === 'revoked')
    log.error(all, `certificate ${event.subject} is revoked, says its OCSP responder ${event.url}`);
  else log.debug(all, `OCSP response for ${event.subject}: ${event.status}`);
}

/** logOcsp logs this process's OCSP fetches from `portico:tls:ocsp`; it returns the unsubscriber. */
export function logOcsp(log: Logger): () => void {
  const onFetch = (message: unknown) => logOcspEvent(log, message as OcspEvent);
  subscribe(OCSP_CHANNEL, onFetch);
  return () => unsubscribe(OCSP_CHANNEL, onFetch);
}
