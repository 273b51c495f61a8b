import { createHash, X509Certificate } from 'node:crypto';
import { ocspChannel } from '../diagnostics.ts';
import { undici } from '../lazy-modules.ts';
import { type OcspResponse, ocspRequest, ocspUrl, parseOcspResponse } from './ocsp.ts';

/** FETCH_TIMEOUT_MS bounds one request to an OCSP responder: 5 s. */
const FETCH_TIMEOUT_MS = 5_000;
/** MAX_RESPONSE_BYTES bounds an OCSP response: 64 KiB (real ones are 1-4 KiB). */
const MAX_RESPONSE_BYTES = 65_536;
/** RETRY_MS is the wait after a failed fetch: 5 minutes. */
const RETRY_MS = 300_000;
/** NO_NEXT_UPDATE_MS is how long a response without nextUpdate is stapled: 1 hour. */
const NO_NEXT_UPDATE_MS = 3_600_000;
/** MAX_ENTRIES bounds the certificates remembered (the oldest is forgotten first). */
const MAX_ENTRIES = 10_000;

interface Entry {
  /** response is the DER response stapled until `expiresAt`. */
  response: Buffer | undefined;
  expiresAt: number;
  /** refreshAt is when a new response is fetched (half its validity; after a failure, RETRY_MS). */
  refreshAt: number;
  fetching: boolean;
}

/** OcspFetch posts a DER OCSP request to a responder and returns the DER response. */
export type OcspFetch = (url: string, request: Buffer) => Promise<Buffer>;

/**
 * OcspStapler staples OCSP responses (RFC 6066 status_request) to the certificates the HTTPS listeners
 * serve: the TLS server's `OCSPRequest` event asks it, and it answers at once from its cache, never
 * holding a handshake for the network. A certificate's first request (and each refresh, at half the
 * response's validity) fetches a response in the background from the responder the certificate names;
 * a failed fetch keeps the previous response while it is valid and is retried after 5 minutes. Each
 * fetch is published on `portico:tls:ocsp` (`OcspEvent`).
 */
export class OcspStapler {
  readonly #entries = new Map<string, Entry>();
  readonly #fetch: OcspFetch;

  constructor(fetch: OcspFetch = postOcsp) {
    this.#fetch = fetch;
  }

  /** respond is the `OCSPRequest` listener: `callback` gets the cached response, or null to staple none. */
  respond(
    cert: Buffer,
    issuer: Buffer | null,
    callback: (error: Error | null, response: Buffer | null) => void,
  ): void {
    const key = createHash('sha256').update(cert).digest('base64');
    let entry = this.#entries.get(key);
    const now = Date.now();
    if (entry === undefined) {
      entry = { response: undefined, expiresAt: 0, refreshAt: 0, fetching: false };
      this.#entries.set(key, entry);
      if (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    }
    callback(null, entry.response !== undefined && now < entry.expiresAt ? entry.response : null);
    if (!entry.fetching && now >= entry.refreshAt) void this.#refresh(entry, cert, issuer);
  }

  async #refresh(entry: Entry, cert: Buffer, issuer: Buffer | null): Promise<void> {
    const url = ocspUrl(cert);
    if (url === undefined || issuer === null) {
      entry.refreshAt = Number.POSITIVE_INFINITY; // nothing to ask, or no issuer to ask about
      return;
    }
    entry.fetching = true;
    const subject = new X509Certificate(cert).subject.replace(/\n/g, ', ');
    try {
      const der = await this.#fetch(url, ocspRequest(cert, issuer));
      const parsed: OcspResponse = parseOcspResponse(der);
      const now = Date.now();
      const until = parsed.nextUpdate ?? parsed.thisUpdate + NO_NEXT_UPDATE_MS;
      if (until <= now) throw new Error('the response is already out of date');
      entry.response = der;
      entry.expiresAt = until;
      entry.refreshAt = Math.max(now + 60_000, parsed.thisUpdate + (until - parsed.thisUpdate) / 2);
      if (ocspChannel.hasSubscribers)
        ocspChannel.publish({ subject, url, status: parsed.status, nextUpdate: parsed.nextUpdate });
    } catch (error) {
      entry.refreshAt = Date.now() + RETRY_MS;
      if (ocspChannel.hasSubscribers) ocspChannel.publish({ subject, url, error: (error as Error).message });
    } finally {
      entry.fetching = false;
    }
  }
}

/** postOcsp asks a responder over HTTP (RFC 6960 appendix A.1), bounded in time and size. */
async function postOcsp(url: string, request: Buffer): Promise<Buffer> {
  const res = await undici().request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
    body: request,
    headersTimeout: FETCH_TIMEOUT_MS,
    bodyTimeout: FETCH_TIMEOUT_MS,
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`OCSP responder answered HTTP ${res.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      res.body.destroy();
      throw new Error(`OCSP response over ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
