import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PorticoConfig } from '@portico/config';
import { requestPath } from '@portico/router';
import { headerListRequestHead } from '../http/header-list-request-head.ts';
import { PorticoProxy } from '../portico-proxy.ts';
import { headerListOf, NodeRequest } from './node-request.ts';

/** PorticoHandler routes and balances requests of an existing `node:http` (or Fastify) server. */
export interface PorticoHandler {
  /**
   * handle proxies one request as Portico's proxy would, and resolves once the exchange is over. With
   * `next`, a request no route matches is passed on instead of answered 404.
   */
  handle(req: IncomingMessage, res: ServerResponse, next?: () => void): Promise<void>;
  /** apply swaps in a new validated config (two-step, as the proxy's); requests in flight keep the old one. */
  apply(config: PorticoConfig): Promise<void>;
  /** proxy is the engine behind the handler: its endpoints, counters and health. */
  readonly proxy: PorticoProxy;
  close(): Promise<void>;
}

/**
 * createHandler gives an app that owns its server a `(req, res)` handler on Portico's engine: the same
 * pipeline as `createProxy` (routing, route filters, balancing, affinity, active and passive health,
 * retries, upstream TLS and keep-alive pools, the `portico:http:request` outcomes), fed by Node's HTTP
 * parser instead of Portico's. The config's listeners are not bound.
 */
export function createHandler(config: PorticoConfig): PorticoHandler {
  const proxy = new PorticoProxy(config);
  return {
    proxy,
    handle(req, res, next) {
      const snapshot = proxy.snapshot;
      if (next !== undefined) {
        const host = req.headers.host ?? '';
        if (snapshot.routes.match(host, requestPath(req.url ?? '/')) === undefined) {
          next();
          return Promise.resolve();
        }
      }
      const { headers, endStream } = headerListOf(req);
      const parsing = snapshot.config.requestParsing;
      const exchange = new NodeRequest(req, res, proxy);
      exchange.start(headerListRequestHead(headers, endStream, snapshot.limits, parsing));
      return exchange.done;
    },
    async apply(next) {
      await proxy.apply(next);
    },
    close() {
      return proxy.close({ drainTimeoutMs: 0 });
    },
  };
}
