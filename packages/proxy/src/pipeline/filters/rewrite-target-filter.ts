import { rewriteTarget } from '../../http/rewrite-target.ts';
import type { Filter, FilterExchange } from '../filter.ts';
import type { HeadEditor } from '../head-editor.ts';

/**
 * RewriteTargetFilter replaces the part of the path the route matched with `replacement` in the target
 * sent upstream (`routes[].rewriteTarget`, nginx's `rewrite-target`; `$1`... for regex groups).
 */
export class RewriteTargetFilter implements Filter {
  readonly name = 'rewrite-target';
  readonly #replacement: string;

  constructor(replacement: string) {
    this.#replacement = replacement;
  }

  upstreamRequest(exchange: FilterExchange, head: HeadEditor): void {
    const { target, path } = exchange.request;
    head.target = rewriteTarget(exchange.rule!, target, path, this.#replacement);
  }
}
