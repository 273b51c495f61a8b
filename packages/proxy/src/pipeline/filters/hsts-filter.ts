import type { HstsConfig } from '@portico/config';
import type { Filter, FilterExchange } from '../filter.ts';
import { HeadEditor } from '../head-editor.ts';

/** HstsFilter adds `Strict-Transport-Security` (RFC 6797) to responses sent over HTTPS (`routes[].hsts`). */
export class HstsFilter implements Filter {
  readonly name = 'hsts';
  readonly #line: string;

  constructor(hsts: HstsConfig) {
    let value = `max-age=${hsts.maxAgeSeconds}`;
    if (hsts.includeSubDomains) value += '; includeSubDomains';
    if (hsts.preload) value += '; preload';
    this.#line = HeadEditor.line('strict-transport-security', value);
  }

  response(exchange: FilterExchange, head: HeadEditor): void {
    if (exchange.scheme === 'https') head.addLines(this.#line);
  }
}
