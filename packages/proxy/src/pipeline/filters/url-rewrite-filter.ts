import type { UrlRewriteConfig } from '@portico/config';
import { rewriteTarget } from '../../http/rewrite-target.ts';
import type { Filter, FilterExchange } from '../filter.ts';
import type { HeadEditor } from '../head-editor.ts';

const HOST: ReadonlySet<string> = new Set(['host']);

/**
 * UrlRewriteFilter rewrites what is sent upstream (`routes[].rewrite`, the Gateway API's URLRewrite): the
 * Host, and either the whole path or the prefix the rule matched; the query is kept either way.
 */
export class UrlRewriteFilter implements Filter {
  readonly name = 'url-rewrite';
  readonly #rewrite: UrlRewriteConfig;

  constructor(rewrite: UrlRewriteConfig) {
    this.#rewrite = rewrite;
  }

  upstreamRequest(exchange: FilterExchange, head: HeadEditor): void {
    const { host, fullPath, prefix } = this.#rewrite;
    if (host !== undefined) {
      head.host = host;
      head.removeAll(HOST); // the client's own Host line gives way
    }
    const { target, path } = exchange.request;
    if (fullPath !== undefined) head.target = fullPath + target.slice(path.length);
    else if (prefix !== undefined) head.target = rewriteTarget(exchange.rule!, target, path, prefix);
  }
}
