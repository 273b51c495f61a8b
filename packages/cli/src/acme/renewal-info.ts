import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';

/** DEFAULT_RECHECK_MS is how long an ARI answer holds when the CA names no Retry-After: 6 hours. */
const DEFAULT_RECHECK_MS = 6 * 3_600_000;
/** FAILED_RECHECK_MS is the wait after the CA's renewal information could not be read: 1 hour. */
const FAILED_RECHECK_MS = 3_600_000;
/** REQUEST_TIMEOUT_MS bounds a request to the CA: 10 s. */
const REQUEST_TIMEOUT_MS = 10_000;

interface Plan {
  /** dueAt is the renewal time chosen in the window (ms since the epoch). */
  dueAt: number;
  window: { start: number; end: number } | undefined;
  /** checkAfter is when the CA is asked again. */
  checkAfter: number;
}

/**
 * RenewalInfo says when a certificate is due for renewal: at a random time within the window the CA
 * suggests by ACME Renewal Information (ARI, RFC 9773) when its directory offers `renewalInfo`, asked
 * again after the CA's Retry-After (6 hours without one); otherwise, or when the CA cannot be asked,
 * the fallback (2/3 of the lifetime). A CA that moves the window earlier (a revocation coming) makes
 * Portico renew early.
 */
export class RenewalInfo {
  readonly #directoryUrl: string;
  readonly #caFile: string | undefined;
  readonly #plans = new Map<string, Plan>();
  #endpoint: Promise<string | undefined> | undefined;
  #dispatcher: Agent | undefined;

  constructor(directoryUrl: string, caFile: string | undefined) {
    this.#directoryUrl = directoryUrl;
    this.#caFile = caFile;
  }

  /** dueAt returns when `certPem` (leaf first) should be renewed; `fallback` when the CA offers no ARI. */
  async dueAt(certPem: string, fallback: number): Promise<number> {
    let id: string;
    try {
      id = await certId(certPem);
    } catch {
      return fallback; // no Authority Key Identifier: ARI cannot name it
    }
    const now = Date.now();
    const known = this.#plans.get(id);
    if (known !== undefined && now < known.checkAfter) return known.dueAt;
    try {
      await this.#trust();
      const endpoint = await this.#renewalInfo();
      if (endpoint === undefined) return fallback;
      const res = await request(`${endpoint.replace(/\/$/, '')}/${id}`, this.#options());
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`HTTP ${res.statusCode}`);
      }
      const body = (await res.body.json()) as { suggestedWindow?: { start?: string; end?: string } };
      const start = Date.parse(String(body.suggestedWindow?.start));
      const end = Date.parse(String(body.suggestedWindow?.end));
      if (!(start <= end)) throw new Error('no valid suggestedWindow');
      const retryAfter = Number(res.headers['retry-after']);
      const recheck =
        Number.isFinite(retryAfter) && retryAfter > 0
          ? Math.min(Math.max(retryAfter * 1000, 60_000), 24 * 3_600_000)
          : DEFAULT_RECHECK_MS;
      // Keep the time chosen while the window still holds it (RFC 9773 section 4.2).
      const kept = known?.dueAt !== undefined && known.dueAt >= start && known.dueAt <= end;
      const dueAt = kept ? known.dueAt : start + Math.random() * (end - start);
      this.#plans.set(id, { dueAt, window: { start, end }, checkAfter: now + recheck });
      if (this.#plans.size > 10_000) this.#plans.delete(this.#plans.keys().next().value!);
      return dueAt;
    } catch {
      const dueAt = known?.dueAt ?? fallback;
      this.#plans.set(id, { dueAt, window: known?.window, checkAfter: now + FAILED_RECHECK_MS });
      return dueAt;
    }
  }

  /** #renewalInfo reads the directory's `renewalInfo` URL once; undefined when the CA offers none. */
  #renewalInfo(): Promise<string | undefined> {
    this.#endpoint ??= (async () => {
      const res = await request(this.#directoryUrl, this.#options());
      const directory = (await res.body.json()) as { renewalInfo?: unknown };
      return typeof directory.renewalInfo === 'string' ? directory.renewalInfo : undefined;
    })().catch((error: unknown) => {
      this.#endpoint = undefined; // asked again next time
      throw error;
    });
    return this.#endpoint;
  }

  #options() {
    return {
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
      ...(this.#dispatcher === undefined ? {} : { dispatcher: this.#dispatcher }),
    };
  }

  /** #trust prepares the TLS trust for a private CA (`caFile`), once. */
  async #trust(): Promise<void> {
    if (this.#caFile !== undefined && this.#dispatcher === undefined)
      this.#dispatcher = new Agent({ connect: { ca: await readFile(this.#caFile) } });
  }

  async close(): Promise<void> {
    await this.#dispatcher?.close();
  }
}

/**
 * certId is a certificate's ARI identifier (RFC 9773 section 4.1): its Authority Key Identifier's key
 * identifier and its serial number (DER integer bytes), each base64url, joined by a dot.
 */
export async function certId(certPem: string): Promise<string> {
  const x509 = await import('@peculiar/x509');
  const cert = new x509.X509Certificate(certPem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (aki?.keyId === undefined) throw new Error('the certificate has no Authority Key Identifier');
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
  return `${b64(aki.keyId)}.${b64(cert.serialNumber)}`;
}
