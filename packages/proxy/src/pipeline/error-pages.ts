import { readFileSync } from 'node:fs';
import type { ErrorPageConfig } from '@portico/config';
import type { Dispatcher } from 'undici';
import { STATUS_CODES } from '../http/status-codes.ts';
import { undici } from '../lazy-modules.ts';
import type { FilterExchange } from './filter.ts';
import type { LocalReply } from './local-reply.ts';

/** MAX_PAGE_BYTES bounds a page, from a file or a renderer (1 MiB). */
const MAX_PAGE_BYTES = 1024 * 1024;
/** RENDER_TIMEOUT_MS bounds how long a renderer may take before the plain answer is sent instead. */
const RENDER_TIMEOUT_MS = 2_000;

/** PageSink takes a rendered page for the exchange `ticket` names (a later request has another). */
export interface PageSink {
  pageRendered(ticket: number, reply: LocalReply): void;
}

/** ErrorPage answers for some statuses: at once (`reply`) or through a renderer (`render`). */
interface ErrorPage {
  /** reply is the page for `status` when it is known now, undefined when it must be rendered. */
  reply(status: number): LocalReply | undefined;
  render(exchange: FilterExchange, status: number, sink: PageSink, ticket: number): void;
}

/**
 * ErrorPages are the custom error pages of a route or of the whole proxy (`errorPages`): for each status
 * listed, a page sent instead of the response body, keeping the status, whether the status is
 * Portico's own (404 without a route, 502 when no endpoint answers...) or an upstream's (whose body is
 * then dropped). A page is a body given inline, a file (read when the config is applied), or the answer
 * of a renderer (at a URL, or at an endpoint of one of the config's services) asked with GET (ingress-nginx's custom-http-errors headers: X-Code, X-Format,
 * X-Original-URI, X-Request-ID); a renderer that fails or takes over 2 s gets the plain answer sent.
 */
export class ErrorPages {
  readonly #byStatus: ReadonlyMap<number, ErrorPage>;

  private constructor(byStatus: ReadonlyMap<number, ErrorPage>) {
    this.#byStatus = byStatus;
  }

  /** compile reads the pages' files (throwing when one cannot be read) and indexes pages by status. */
  static compile(
    configs: readonly ErrorPageConfig[],
    dispatcher: (() => Dispatcher) | undefined,
  ): ErrorPages {
    const byStatus = new Map<number, ErrorPage>();
    for (const config of configs) {
      const page: ErrorPage =
        config.url !== undefined
          ? new RenderedPage(config.url, undefined, dispatcher)
          : config.service !== undefined
            ? new RenderedPage(undefined, config.service, dispatcher)
            : new StaticPage(config.body ?? readPage(config.file!), config.contentType);
      for (const status of config.statuses) if (!byStatus.has(status)) byStatus.set(status, page);
    }
    return new ErrorPages(byStatus);
  }

  /** find returns the page for `status`, if one was configured. */
  find(status: number): ErrorPage | undefined {
    return this.#byStatus.get(status);
  }
}

/** StaticPage is a page known in advance: one reply per status, made once. */
class StaticPage implements ErrorPage {
  readonly #body: string;
  readonly #fields: readonly string[];
  readonly #replies = new Map<number, LocalReply>();

  constructor(body: string, contentType: string) {
    this.#body = body;
    this.#fields = ['content-type', contentType];
  }

  reply(status: number): LocalReply {
    let reply = this.#replies.get(status);
    if (reply === undefined) {
      reply = { status, fields: this.#fields, body: this.#body };
      this.#replies.set(status, reply);
    }
    return reply;
  }

  render(): void {}
}

/** RenderedPage asks a renderer for each page: at a URL, or at an endpoint of a service. */
class RenderedPage implements ErrorPage {
  readonly #url: string | undefined;
  readonly #service: string | undefined;
  readonly #dispatcher: (() => Dispatcher) | undefined;

  constructor(
    url: string | undefined,
    service: string | undefined,
    dispatcher: (() => Dispatcher) | undefined,
  ) {
    this.#url = url;
    this.#service = service;
    this.#dispatcher = dispatcher;
  }

  reply(): undefined {
    return undefined;
  }

  render(exchange: FilterExchange, status: number, sink: PageSink, ticket: number): void {
    this.#fetch(exchange, status).then(
      (reply) => sink.pageRendered(ticket, reply),
      () => sink.pageRendered(ticket, plainReply(status)),
    );
  }

  async #fetch(exchange: FilterExchange, status: number): Promise<LocalReply> {
    const headers: Record<string, string> = {
      'x-code': String(status),
      'x-format': exchange.header('accept') ?? 'text/html',
      'x-original-uri': exchange.request.target,
    };
    const requestId = exchange.header('x-request-id');
    if (requestId !== undefined) headers['x-request-id'] = requestId;
    let url = this.#url;
    if (url === undefined) {
      const endpoint = exchange.endpointOf(this.#service!);
      if (endpoint === undefined) return plainReply(status);
      const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
      url = `http://${host}:${endpoint.port}/`;
    }
    const res = await undici().request(url, {
      headers,
      headersTimeout: RENDER_TIMEOUT_MS,
      bodyTimeout: RENDER_TIMEOUT_MS,
      signal: AbortSignal.timeout(RENDER_TIMEOUT_MS),
      ...(this.#dispatcher === undefined ? {} : { dispatcher: this.#dispatcher() }),
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode >= 500 || body.length > MAX_PAGE_BYTES) return plainReply(status);
    const type = res.headers['content-type'];
    const contentType = typeof type === 'string' && /^[ -~]+$/.test(type) ? type : 'text/html; charset=utf-8';
    return { status, fields: ['content-type', contentType], body: body.toString('utf8') };
  }
}

/** plainReply is the answer sent when a renderer gives no page: the status and its reason. */
function plainReply(status: number): LocalReply {
  return {
    status,
    fields: ['content-type', 'text/plain; charset=utf-8'],
    body: `${status} ${STATUS_CODES[status] ?? 'Error'}\n`,
  };
}

function readPage(file: string): string {
  const page = readFileSync(file);
  if (page.length > MAX_PAGE_BYTES) throw new Error(`error page ${file} is larger than 1 MiB`);
  return page.toString('utf8');
}
