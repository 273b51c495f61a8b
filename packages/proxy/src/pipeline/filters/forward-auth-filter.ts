import type { ForwardAuthConfig } from '@portico/config';
import { LRUCache } from 'lru-cache';
import type { Dispatcher } from 'undici';
import { CONNECTION_SPECIFIC_FIELDS } from '../../http/connection-specific-fields.ts';
import { undici } from '../../lazy-modules.ts';
import type { AuthorizationSink, Filter, FilterExchange } from '../filter.ts';
import { HeadEditor } from '../head-editor.ts';
import type { LocalReply } from '../local-reply.ts';

/** MAX_AUTH_BODY_BYTES bounds the body of an auth refusal passed on to the client (64 KiB). */
const MAX_AUTH_BODY_BYTES = 64 * 1024;
/** REFUSAL_FIELDS are the fields of an auth service's refusal or redirect passed on to the client. */
const REFUSAL_FIELDS = ['www-authenticate', 'location', 'set-cookie', 'content-type', 'cache-control'];
/** NOT_FORWARDED are request fields never sent to the auth service: framing, hop-by-hop, and Host. */
const NOT_FORWARDED = new Set([...CONNECTION_SPECIFIC_FIELDS, 'host', 'content-length', 'expect']);

/** AUTH_FAILED answers when the auth service gave no usable answer in time: fail closed. */
const AUTH_FAILED: LocalReply = {
  status: 500,
  fields: ['content-type', 'text/plain; charset=utf-8'],
  body: 'authorization service unavailable\n',
};

/** Answer is what the auth service decided, as reused from the cache. */
type Answer =
  | { readonly allowed: true; readonly lines: string }
  | { readonly allowed: false; readonly reply: LocalReply };

/**
 * ForwardAuthFilter asks an authorization service about each request before it goes upstream
 * (`routes[].forwardAuth`; ingress-nginx's auth-url, Traefik's ForwardAuth): a subrequest with the
 * original request's headers (all but hop-by-hop and framing ones, or those listed) and where it was
 * going (X-Original-URL, X-Original-Method, X-Forwarded-Method/-Proto/-Host/-Uri/-For, X-Real-IP), no
 * body. A 2xx lets the request through with the listed response headers copied upstream (the client's
 * own fields of those names are always dropped, so a client cannot claim an identity); a 401 or 403 goes
 * back to the client with the service's WWW-Authenticate, cookies and body (or, with `signInUrl`, a 401
 * becomes a 302 there); a 3xx goes back as it is; anything else, an error or no answer within
 * `timeoutMs` is 500. Answers may be cached by the values of chosen headers.
 */
export class ForwardAuthFilter implements Filter {
  readonly name = 'forward-auth';
  readonly #config: ForwardAuthConfig;
  readonly #dispatcher: (() => Dispatcher) | undefined;
  readonly #forwarded: ReadonlySet<string> | undefined;
  /** #copied are the lower-case names copied from a 2xx answer upstream (and dropped from the client's). */
  readonly #copied: ReadonlySet<string>;
  readonly #cache: LRUCache<string, Answer> | undefined;
  readonly #cacheKeys: readonly string[];

  constructor(config: ForwardAuthConfig, dispatcher: (() => Dispatcher) | undefined) {
    this.#config = config;
    this.#dispatcher = dispatcher;
    this.#forwarded =
      config.requestHeaders === undefined
        ? undefined
        : new Set(config.requestHeaders.map((h) => h.toLowerCase()));
    this.#copied = new Set(config.responseHeaders.map((h) => h.toLowerCase()));
    this.#cacheKeys = config.cache?.keyHeaders.map((h) => h.toLowerCase()) ?? [];
    this.#cache =
      config.cache === undefined
        ? undefined
        : new LRUCache({ max: config.cache.maxEntries, ttl: config.cache.ttlMs });
  }

  authorize(exchange: FilterExchange, sink: AuthorizationSink, ticket: number): void {
    const key = this.#cache === undefined ? undefined : this.#cacheKey(exchange);
    const cached = key === undefined ? undefined : this.#cache!.get(key);
    if (cached !== undefined) {
      if (cached.allowed) sink.authorized(ticket, cached.lines);
      else sink.refused(ticket, cached.reply);
      return;
    }
    const original = originalUrl(exchange);
    this.#ask(exchange, original).then(
      (answer) => {
        if (key !== undefined && answer.cacheable) this.#cache!.set(key, answer.answer);
        if (answer.answer.allowed) sink.authorized(ticket, answer.answer.lines);
        else sink.refused(ticket, answer.answer.reply);
      },
      () => sink.refused(ticket, AUTH_FAILED),
    );
  }

  upstreamRequest(exchange: FilterExchange, head: HeadEditor): void {
    head.removeAll(this.#copied);
    if (exchange.authorizedLines !== '') head.addLines(exchange.authorizedLines);
  }

  async #ask(exchange: FilterExchange, original: string): Promise<{ answer: Answer; cacheable: boolean }> {
    const req = exchange.request;
    const headers: Record<string, string | string[]> = {};
    const fields = exchange.requestFields();
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      if (NOT_FORWARDED.has(name) || (this.#forwarded !== undefined && !this.#forwarded.has(name))) continue;
      const previous = headers[name];
      headers[name] = previous === undefined ? fields[i + 1]! : [...[previous].flat(), fields[i + 1]!];
    }
    const client = exchange.clientAddress();
    const path = req.target;
    Object.assign(headers, {
      'x-original-url': original,
      'x-original-method': req.method,
      'x-forwarded-method': req.method,
      'x-forwarded-proto': exchange.scheme,
      'x-forwarded-host': req.host,
      'x-forwarded-uri': path,
      'x-forwarded-for': client,
      'x-real-ip': client,
    });
    const timeoutMs = this.#config.timeoutMs;
    const res = await undici().request(this.#config.url, {
      method: (this.#config.method === 'original' ? req.method : 'GET') as Dispatcher.HttpMethod,
      headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      ...(this.#dispatcher === undefined ? {} : { dispatcher: this.#dispatcher() }),
    });
    const status = res.statusCode;
    const body = await boundedText(res.body);
    if (status >= 200 && status < 300) {
      let lines = '';
      for (const name of this.#copied) {
        const value = res.headers[name];
        for (const one of value === undefined ? [] : [value].flat()) {
          if (HeadEditor.problem(name, one) === undefined) lines += HeadEditor.line(name, one);
        }
      }
      return { answer: { allowed: true, lines }, cacheable: true };
    }
    if (status === 401 && this.#config.signInUrl !== undefined) {
      return {
        answer: { allowed: false, reply: signIn(this.#config.signInUrl, original) },
        cacheable: false,
      };
    }
    if (status === 401 || status === 403 || (status >= 300 && status < 400)) {
      const fields: string[] = [];
      for (const name of REFUSAL_FIELDS) {
        const value = res.headers[name];
        for (const one of value === undefined ? [] : [value].flat())
          if (HeadEditor.problem(name, one) === undefined) fields.push(name, one);
      }
      const reply: LocalReply = {
        status,
        fields,
        ...(body === undefined ? {} : { body }),
        ...(status < 400 ? {} : { refusal: 'unauthorized' as const }),
      };
      return { answer: { allowed: false, reply }, cacheable: status >= 400 }; // redirects are not reused
    }
    return { answer: { allowed: false, reply: AUTH_FAILED }, cacheable: false };
  }

  #cacheKey(exchange: FilterExchange): string {
    let key = exchange.request.host;
    for (const name of this.#cacheKeys) key += `\n${exchange.header(name) ?? ''}`;
    return key;
  }
}

/** originalUrl is the URL the client asked for: scheme, Host and target. */
function originalUrl(exchange: FilterExchange): string {
  return `${exchange.scheme}://${exchange.request.host}${exchange.request.target}`;
}

/** signIn redirects to `url` with `rd` set to where the client was going, unless `url` sets `rd` itself. */
function signIn(url: string, original: string): LocalReply {
  const target = new URL(url);
  if (!target.searchParams.has('rd')) target.searchParams.set('rd', original);
  return { status: 302, fields: ['location', target.href], refusal: 'unauthorized' };
}

/** boundedText reads a body as text up to MAX_AUTH_BODY_BYTES; undefined when it is longer (then dropped). */
async function boundedText(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of body) {
    size += part.length;
    if (size > MAX_AUTH_BODY_BYTES) {
      body.destroy();
      return undefined;
    }
    parts.push(part);
  }
  return Buffer.concat(parts).toString('utf8');
}
