import type { CompressionConfig } from '@portico/config';
import { preferredEncoding } from '../../http/accept-encoding.ts';
import type { Filter, FilterExchange } from '../filter.ts';
import type { HeadEditor } from '../head-editor.ts';
import { brotliCoding, type ContentCoding, gzipCoding } from '../response-encoder.ts';

/** COMPRESSIBLE_STATUSES are the statuses whose bodies are compressed (nginx's choice: 200, 403, 404). */
const COMPRESSIBLE_STATUSES = new Set([200, 403, 404]);

/**
 * CompressionFilter compresses responses (`routes[].compression`) for clients whose Accept-Encoding
 * takes gzip or brotli, streaming, with the coding the client weighs highest (ties: the configured
 * order). It leaves alone responses that are bodyless or to HEAD, of another status than 200, 403 or
 * 404, already encoded, partial (Content-Range), marked `no-transform`, of a type not listed, or shorter
 * than `minBytes`. Every response it could compress gets `Vary: Accept-Encoding`, compressed or not, so
 * caches keep the variants apart; a compressed one loses its Content-Length and a strong ETag turns weak.
 */
export class CompressionFilter implements Filter {
  readonly name = 'compression';
  readonly #offered: readonly string[];
  readonly #codings: ReadonlyMap<string, ContentCoding>;
  readonly #minBytes: number;
  readonly #types: ReadonlySet<string>;
  readonly #wholeTypes: ReadonlySet<string>;
  /** #lastAccept and #lastChoice remember the last Accept-Encoding seen: clients mostly send the same. */
  #lastAccept: string | undefined;
  #lastChoice: string | undefined;

  constructor(config: CompressionConfig) {
    this.#offered = config.encodings;
    this.#codings = new Map(
      config.encodings.map((name) => [
        name,
        name === 'br' ? brotliCoding(config.brotliQuality) : gzipCoding(config.gzipLevel),
      ]),
    );
    this.#minBytes = config.minBytes;
    this.#types = new Set(config.contentTypes.filter((t) => !t.endsWith('/*')));
    this.#wholeTypes = new Set(
      config.contentTypes.filter((t) => t.endsWith('/*')).map((t) => t.slice(0, -2)),
    );
  }

  response(exchange: FilterExchange, head: HeadEditor, status: number): void {
    if (!COMPRESSIBLE_STATUSES.has(status) || exchange.request.method === 'HEAD') return;
    if (!this.#compressible(exchange)) return;
    const vary = exchange.responseHeader('vary');
    if (vary === undefined || !/(^|,)\s*(\*|accept-encoding)\s*(,|$)/i.test(vary))
      head.add('vary', 'Accept-Encoding');
    const accept = exchange.header('accept-encoding');
    let choice: string | undefined;
    if (accept === this.#lastAccept) choice = this.#lastChoice;
    else {
      choice = preferredEncoding(accept, this.#offered);
      this.#lastAccept = accept;
      this.#lastChoice = choice;
    }
    if (choice === undefined) return;
    head.add('content-encoding', choice);
    const etag = exchange.responseHeader('etag');
    if (etag?.startsWith('"')) head.set('etag', `W/${etag}`);
    exchange.responseCoding = this.#codings.get(choice);
  }

  /** #compressible tells whether the response is one this filter compresses for a client that accepts it. */
  #compressible(exchange: FilterExchange): boolean {
    const encoding = exchange.responseHeader('content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
    if (exchange.responseHeader('content-range') !== undefined) return false;
    const cacheControl = exchange.responseHeader('cache-control');
    if (cacheControl !== undefined && /(^|[,\s])no-transform\s*(,|$)/i.test(cacheControl)) return false;
    const length = exchange.responseHeader('content-length');
    if (length !== undefined && Number(length) < this.#minBytes) return false;
    const type = exchange.responseHeader('content-type');
    if (type === undefined) return false;
    const semicolon = type.indexOf(';');
    const media = (semicolon < 0 ? type : type.slice(0, semicolon)).trim().toLowerCase();
    return this.#types.has(media) || this.#wholeTypes.has(media.slice(0, media.indexOf('/')));
  }
}
