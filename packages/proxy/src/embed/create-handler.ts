import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { PorticoConfig } from '@portico/config';
import { requestPath } from '@portico/router';
import { Pool } from 'undici';
import { cookieFrom, queryFrom, type RequestKeys } from '../balancer/request-keys.ts';
import { ServiceRegistry } from '../balancer/service-state.ts';
import type { ForwardingInput } from '../forwarding-policy.ts';
import { redirectTarget } from '../http/redirect.ts';
import { isValidAuthority } from '../http/request-head.ts';
import { rewriteTarget } from '../http/rewrite-target.ts';
import { PorticoProxyError } from '../proxy-error.ts';
import { compileSnapshot, type Snapshot } from '../snapshot.ts';
import { CertificateStore } from '../tls/certificate-store.ts';
import { StatsRegistry } from '../traffic-stats.ts';
import { EndpointRegistry } from '../upstream/endpoint-registry.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';

/** HOP_BY_HOP are the fields never copied from one side to the other (RFC 9110 7.6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade'];
/** NOT_FROM_CLIENT are the request fields Portico writes itself, never copied from the client. */
const NOT_FROM_CLIENT = new Set([
  ...HOP_BY_HOP,
  'host',
  'content-length',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'forwarded',
  'proxy',
]);
/** NOT_FROM_UPSTREAM are the response fields never copied from the upstream; Node frames the body. */
const NOT_FROM_UPSTREAM = new Set(HOP_BY_HOP);
/** MAX_ATTEMPTS bounds the endpoints tried when connections fail before the request was sent. */
const MAX_ATTEMPTS = 3;

/** PorticoHandler routes and balances requests of an existing `node:http` (or Fastify) server. */
export interface PorticoHandler {
  /**
   * handle proxies one request as Portico's proxy would route and balance it, and resolves once the
   * response is complete. With `next`, a request no route matches is passed on instead of answered 404.
   */
  handle(req: IncomingMessage, res: ServerResponse, next?: () => void): Promise<void>;
  /** apply swaps in a new validated config; requests in flight keep the old one. */
  apply(config: PorticoConfig): void;
  close(): Promise<void>;
}

/**
 * createHandler builds a `(req, res)` handler with Portico's routing (Ingress semantics, route policies)
 * and balancing, forwarding over one undici `Pool` per endpoint. Use it inside an app that already owns
 * its server; `createProxy` is the faster standalone engine.
 */
export function createHandler(config: PorticoConfig): PorticoHandler {
  const registry = new EndpointRegistry();
  const services = new ServiceRegistry();
  const routeStats = new StatsRegistry();
  const pools = new Map<string, Pool>();
  const certificates = new CertificateStore();
  let version = 1;
  let snapshot: Snapshot = compileSnapshot(config, registry, services, routeStats, certificates, version);

  const poolFor = (endpoint: EndpointState): Pool => {
    let pool = pools.get(endpoint.key);
    if (!pool) {
      const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
      pool = new Pool(`http://${host}:${endpoint.port}`, {
        connections: snapshot.config.upstreamPool.maxIdlePerEndpoint || 64,
        keepAliveTimeout: snapshot.config.timeouts.upstreamIdleMs,
        connectTimeout: snapshot.config.timeouts.upstreamConnectMs,
      });
      pools.set(endpoint.key, pool);
    }
    return pool;
  };

  const answer = (res: ServerResponse, error: PorticoProxyError) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(error.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`${error.status} ${res.statusMessage}\n`);
  };

  async function handle(req: IncomingMessage, res: ServerResponse, next?: () => void): Promise<void> {
    const current = snapshot;
    const hosts = req.headersDistinct.host;
    if (hosts === undefined || hosts.length !== 1 || !isValidAuthority(hosts[0]!)) {
      answer(res, new PorticoProxyError('PORTICO_BAD_HOST', 'missing, repeated or invalid Host'));
      return;
    }
    const host = hosts[0]!;
    const target = req.url ?? '/';
    const path = requestPath(target);
    const rule = current.routes.match(host, path);
    if (rule === undefined) {
      if (next) next();
      else answer(res, new PorticoProxyError('PORTICO_NO_ROUTE', 'no route'));
      return;
    }
    const { policy, service } = rule.target;
    if (policy.redirect !== undefined) {
      const method = req.method ?? 'GET';
      const { status, location } = redirectTarget({ method, host, target, path }, policy.redirect, 'http');
      res.writeHead(status, { location });
      res.end();
      return;
    }
    const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const trusted = current.forwarding.trusts(peer);
    const head: ForwardingInput = {
      host,
      version: req.httpVersionMinor === 0 ? 10 : 11,
      forwardedFor: joined(req.headersDistinct['x-forwarded-for']),
      forwardedProto: req.headersDistinct['x-forwarded-proto']?.[0],
      forwardedHost: req.headersDistinct['x-forwarded-host']?.[0],
      forwardedPort: req.headersDistinct['x-forwarded-port']?.[0],
      forwarded: joined(req.headersDistinct.forwarded),
    };
    const port = req.socket.localPort ?? 0;
    const lines = current.forwarding.requestLines(
      head,
      current.forwarding.connectionLines(peer, port, 'http'),
      trusted,
      peer,
      port,
      'http',
    );
    const headers: string[] = ['host', host];
    const nominated = new Set(
      (req.headers.connection ?? '')
        .toLowerCase()
        .split(',')
        .map((t) => t.trim()),
    );
    const rules = policy.requestHeaders;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!.toLowerCase();
      if (NOT_FROM_CLIENT.has(name) || nominated.has(name) || rules?.drop.has(name)) continue;
      headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    }
    for (const line of (lines + (rules?.lines ?? '')).split('\r\n')) {
      const colon = line.indexOf(': ');
      if (colon > 0) headers.push(line.slice(0, colon), line.slice(colon + 2));
    }
    const upstreamPath =
      policy.rewriteTarget === undefined ? target : rewriteTarget(rule, target, path, policy.rewriteTarget);
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && req.headers['content-length'] !== undefined)
      headers.push('content-length', req.headers['content-length']);

    const keys: RequestKeys = {
      clientAddress: () => peer,
      header: (name) => joined(req.headersDistinct[name]),
      cookie: (name) => cookieFrom(req.headers.cookie, name),
      path: () => path,
      query: (name) => queryFrom(target, name),
    };
    const tried: EndpointState[] = [];
    for (;;) {
      const { endpoint, setCookie } = service.choose(keys, tried);
      if (endpoint === undefined || tried.length >= MAX_ATTEMPTS) {
        answer(
          res,
          new PorticoProxyError(
            tried.length === 0 ? 'PORTICO_NO_ENDPOINT' : 'PORTICO_UPSTREAM_CONNECT',
            'no endpoint',
          ),
        );
        return;
      }
      tried.push(endpoint);
      endpoint.active++;
      endpoint.requests++;
      try {
        const upstream = await poolFor(endpoint).request({
          method: req.method as 'GET',
          path: upstreamPath,
          headers,
          body: hasBody ? req : null,
          headersTimeout: policy.timeouts.upstreamResponseHeadMs,
          bodyTimeout: policy.timeouts.upstreamIdleMs,
        });
        const out: string[] = [];
        const responseRules = policy.responseHeaders;
        const raw = upstream.headers;
        const connectionNamed = new Set(
          String(raw['connection'] ?? '')
            .toLowerCase()
            .split(',')
            .map((t) => t.trim()),
        );
        for (const [name, value] of Object.entries(raw)) {
          if (NOT_FROM_UPSTREAM.has(name) || connectionNamed.has(name) || responseRules?.drop.has(name))
            continue;
          for (const v of Array.isArray(value) ? value : [value ?? '']) out.push(name, v);
        }
        for (const line of (responseRules?.lines ?? '').split('\r\n')) {
          const colon = line.indexOf(': ');
          if (colon > 0) out.push(line.slice(0, colon), line.slice(colon + 2));
        }
        if (setCookie !== undefined) out.push('set-cookie', setCookie);
        if (upstream.statusCode >= 500) service.recordFailure(endpoint);
        else service.recordSuccess(endpoint);
        res.writeHead(upstream.statusCode, out);
        await new Promise<void>((resolve) => pipeline(upstream.body, res, () => resolve()));
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        const beforeSend = code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT';
        service.recordFailure(endpoint);
        if (beforeSend && !res.headersSent) continue; // nothing reached the upstream: try the next endpoint
        answer(
          res,
          code === 'UND_ERR_HEADERS_TIMEOUT'
            ? new PorticoProxyError('PORTICO_UPSTREAM_TIMEOUT', 'upstream timeout')
            : new PorticoProxyError('PORTICO_UPSTREAM_RESET', 'upstream failed'),
        );
        return;
      } finally {
        endpoint.active--;
      }
    }
  }

  return {
    handle,
    apply(next) {
      snapshot = compileSnapshot(next, registry, services, routeStats, certificates, ++version);
    },
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      pools.clear();
    },
  };
}

function joined(values: string[] | undefined): string | undefined {
  return values === undefined ? undefined : values.join(', ');
}
