import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Agent } from 'undici';
import { PorticoDiscoveryError } from '../discovery-error.ts';
import type { KubeConnection } from './kube-connection.ts';
import { undici } from './lazy-undici.ts';

/** KubeApiError is a failed API request: `status` is the HTTP status (0 when no response came). */
export class KubeApiError extends PorticoDiscoveryError {
  readonly status: number;
  /** reason is the Status object's reason (`Expired`, `Conflict`, `NotFound`...), when there was one. */
  readonly reason: string | undefined;

  constructor(status: number, message: string, reason?: string, options?: ErrorOptions) {
    super('PORTICO_KUBE_API', message, options);
    this.status = status;
    this.reason = reason;
  }
}

/** TOKEN_REFRESH_MS is how often a token file is re-read (client-go re-reads every minute); also on a 401. */
export const TOKEN_REFRESH_MS = 60_000;

/** USER_AGENT names Portico to the API server (audit logs, API priority and fairness), as client-go does. */
export const USER_AGENT = `portico-ingress-controller (${process.platform}/${process.arch}) node/${process.versions.node}`;

/**
 * API_CONNECT_TIMEOUT_MS bounds a TCP + TLS connect to the API server: 5 s. A blackholed server is noticed
 * by this and by `timeoutMs`, instead of undici's 10 s connect and 30 s header defaults.
 */
export const API_CONNECT_TIMEOUT_MS = 5_000;

/** API_HEADERS_TIMEOUT_MS is the default wait for a response head, lists and watches alike: 10 s. */
export const API_HEADERS_TIMEOUT_MS = 10_000;

/** KubeRequest is one API call: a path with its query, a method, an optional JSON body. */
export interface KubeRequest {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** timeoutMs bounds the wait for the response head: API_HEADERS_TIMEOUT_MS (10 s) by default. */
  readonly timeoutMs?: number;
}

/**
 * KubeClient makes requests to the Kubernetes API over one undici agent (keep-alive, TLS with the
 * connection's CA and client certificate), with a bearer token re-read from its file as it rotates.
 */
export class KubeClient {
  readonly connection: KubeConnection;
  readonly #agent: Agent;
  #token: string | undefined;
  #tokenReadAt = 0;

  constructor(connection: KubeConnection) {
    this.connection = connection;
    this.#agent = new (undici().Agent)({
      connect: {
        ...(connection.ca === undefined ? {} : { ca: connection.ca }),
        ...(connection.cert === undefined ? {} : { cert: connection.cert }),
        ...(connection.key === undefined ? {} : { key: connection.key }),
        rejectUnauthorized: connection.insecureSkipTlsVerify !== true,
        timeout: API_CONNECT_TIMEOUT_MS,
      },
      keepAliveTimeout: 30_000,
    });
    this.#token = connection.token;
  }

  #bearer(forceRead: boolean): string | undefined {
    const file = this.connection.tokenFile;
    if (file === undefined) return this.#token;
    if (forceRead || this.#token === undefined || Date.now() - this.#tokenReadAt > TOKEN_REFRESH_MS) {
      try {
        this.#token = readFileSync(file, 'utf8').trim();
        this.#tokenReadAt = Date.now();
      } catch {
        // Keep the last token read: a projected volume is swapped atomically, a read error is transient.
      }
    }
    return this.#token;
  }

  /** stream sends a request and returns the open response: status 2xx, or throws a `KubeApiError`. */
  async stream(req: KubeRequest): Promise<{ status: number; body: Readable }> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.#send(req, attempt > 0);
      if (response.statusCode === 401 && attempt === 0 && this.connection.tokenFile !== undefined) {
        await response.body.dump();
        continue;
      }
      if (response.statusCode >= 200 && response.statusCode < 300)
        return { status: response.statusCode, body: response.body };
      const text = await response.body.text().catch(() => '');
      throw statusError(response.statusCode, text, `${req.method ?? 'GET'} ${req.path}`);
    }
  }

  /** json sends a request and returns its parsed JSON body, or throws a `KubeApiError`. */
  async json<T>(req: KubeRequest): Promise<T> {
    const { body } = await this.stream(req);
    try {
      return (await (body as unknown as { json(): Promise<unknown> }).json()) as T;
    } catch (error) {
      throw new KubeApiError(0, `${req.method ?? 'GET'} ${req.path}: invalid JSON in response`, undefined, {
        cause: error,
      });
    }
  }

  async #send(req: KubeRequest, forceToken: boolean) {
    const url = new URL(req.path, `${this.connection.server}/`);
    for (const [name, value] of Object.entries(req.query ?? {}))
      if (value !== undefined) url.searchParams.set(name, String(value));
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    const token = this.#bearer(forceToken);
    if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = req.contentType ?? 'application/json';
    }
    try {
      return await undici().request(url, {
        method: req.method ?? 'GET',
        headers,
        ...(body === undefined ? {} : { body }),
        ...(req.signal === undefined ? {} : { signal: req.signal }),
        dispatcher: this.#agent,
        headersTimeout: req.timeoutMs ?? API_HEADERS_TIMEOUT_MS,
        // Watches may stay quiet for minutes; the reflector's own watchdog bounds silence.
        bodyTimeout: 0,
      });
    } catch (error) {
      throw new KubeApiError(
        0,
        `${req.method ?? 'GET'} ${url.pathname}: ${(error as Error).message}`,
        undefined,
        { cause: error },
      );
    }
  }

  async close(): Promise<void> {
    await this.#agent.destroy();
  }
}

/** statusError turns a non-2xx response (a `Status` object, usually) into a `KubeApiError`. */
export function statusError(status: number, text: string, what: string): KubeApiError {
  let message = text.slice(0, 300);
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(text) as { message?: string; reason?: string };
    if (typeof parsed.message === 'string') message = parsed.message;
    if (typeof parsed.reason === 'string') reason = parsed.reason;
  } catch {
    // Not a Status object: keep the text.
  }
  return new KubeApiError(status, `${what}: ${status}${message === '' ? '' : ` ${message}`}`, reason);
}
