import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import type { AdminConfig } from '@portico/config';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AdminSource } from './admin-source.ts';
import { createPorticoMetrics } from './metrics.ts';
import { MetricsHistory } from './metrics-history.ts';
import { tokenMatches } from './token-guard.ts';

/** DASHBOARD is the dashboard, served as is: no build step. */
const DASHBOARD = readFileSync(new URL('../src/dashboard/dashboard.html', import.meta.url), 'utf8');
/** UPLOT is the charting library the dashboard draws with (uPlot, from npm), and its stylesheet. */
const uplotFile = (name: string) =>
  readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${name}`), 'utf8');
const UPLOT = { js: uplotFile('uPlot.iife.min.js'), css: uplotFile('uPlot.min.css') };

/** AdminServer is the admin API: an HTTP server on its own port, never on the data path. */
export interface AdminServer {
  readonly app: FastifyInstance;
  /** url is where it listens, such as `http://127.0.0.1:9901`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * adminPlugin registers the admin routes on a Fastify instance. Reads are open to whoever can reach
 * the port (loopback by default); every call that changes state needs `Authorization: Bearer <token>`,
 * compared in constant time, and is refused (403) when no token is configured.
 */
export function adminPlugin(source: AdminSource, token: string | undefined, historyIntervalMs = 5_000) {
  return async (app: FastifyInstance): Promise<void> => {
    const metrics = createPorticoMetrics(source);
    const history = new MetricsHistory(source, historyIntervalMs);
    history.start();
    app.addHook('onClose', async () => history.stop());
    const guard = async (request: FastifyRequest, reply: FastifyReply) => {
      if (token === undefined) {
        return reply
          .code(403)
          .send({ error: 'state-changing calls are disabled: set admin.token in the config' });
      }
      if (!tokenMatches(request.headers.authorization, token)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'a valid bearer token is required' });
      }
    };

    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const ready = source.ready();
      return reply.code(ready ? 200 : 503).send({ ready });
    });
    // Views of the data plane: with worker processes, gathered from them first.
    const fresh = async () => {
      await source.refresh?.();
    };
    app.get('/status', async () => {
      await fresh();
      return source.status();
    });
    app.get<{ Querystring: { explain?: string } }>(
      '/routes',
      {
        schema: {
          querystring: { type: 'object', properties: { explain: { type: 'string', maxLength: 8192 } } },
        },
      },
      async (request, reply) => {
        const url = request.query.explain;
        if (url === undefined) return source.routes();
        const result = source.explain(url);
        if (result instanceof Error) return reply.code(400).send({ error: result.message });
        return result;
      },
    );
    app.get('/services', async () => {
      await fresh();
      return source.services();
    });
    app.get('/traffic', async () => {
      await fresh();
      return source.traffic();
    });
    app.get('/dashboard', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header(
          'content-security-policy',
          "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'",
        )
        .send(DASHBOARD),
    );
    app.get('/dashboard/uplot.js', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=86400').send(UPLOT.js),
    );
    app.get('/dashboard/uplot.css', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=86400').send(UPLOT.css),
    );
    app.get('/history', async () => history.view());
    app.get('/certificates', async () => source.certificates?.() ?? { certificates: [], uncovered: [] });
    app.get('/timeline', async () => source.timeline?.() ?? []);
    app.get('/config/history', async () => source.configHistory?.() ?? []);
    app.get('/acme', async () => source.acme?.() ?? []);
    app.get('/listeners', async () => {
      await fresh();
      return source.listeners();
    });
    app.get('/config', async (_request, reply) => {
      reply.header('etag', `"${source.status().version}"`);
      return source.config();
    });
    app.get('/config/errors', async () => source.configErrors());
    app.get('/discovery', async () => source.discovery());
    app.get('/metrics', async (_request, reply) => {
      await fresh();
      reply.header('content-type', metrics.contentType);
      return metrics.render();
    });

    app.post(
      '/config/validate',
      { preHandler: guard, schema: { body: { type: 'object' } } },
      async (request) => {
        const problems = source.validate(request.body);
        return { valid: problems.length === 0, problems };
      },
    );
    app.post(
      '/config/diff',
      { preHandler: guard, schema: { body: { type: 'object' } } },
      async (request, reply) => {
        const diff = source.diff(request.body);
        if (Array.isArray(diff)) return reply.code(422).send({ valid: false, problems: diff });
        return diff;
      },
    );
    app.put(
      '/config',
      { preHandler: guard, schema: { body: { type: 'object' } } },
      async (request, reply) => {
        const ifMatch = request.headers['if-match'];
        if (ifMatch === undefined)
          return reply
            .code(428)
            .send({ error: 'If-Match with the current version (GET /config ETag) is required' });
        const result = await source.replaceConfig(request.body, ifMatch.replaceAll('"', ''));
        switch (result.status) {
          case 'applied':
            return reply
              .header('etag', `"${result.version}"`)
              .send({ applied: true, version: result.version });
          case 'conflict':
            return reply.code(412).send({
              error: `the config changed: version ${result.version} is in force`,
              version: result.version,
            });
          case 'invalid':
            return reply.code(422).send({ applied: false, problems: result.problems });
          default:
            return reply.code(409).send({ error: result.reason });
        }
      },
    );
    app.post<{ Params: { endpoint: string; action: string } }>(
      '/endpoints/:endpoint/:action',
      {
        preHandler: guard,
        schema: {
          params: {
            type: 'object',
            properties: {
              endpoint: { type: 'string', maxLength: 300 },
              action: { enum: ['disable', 'enable'] },
            },
          },
        },
      },
      async (request, reply) => {
        const { endpoint, action } = request.params;
        if (!source.setEndpointDisabled(endpoint, action === 'disable'))
          return reply.code(404).send({ error: `no endpoint ${endpoint}` });
        return { endpoint, disabled: action === 'disable' };
      },
    );
    app.post('/drain', { preHandler: guard }, async (_request, reply) => {
      void source.drain();
      return reply.code(202).send({ draining: true, connections: source.status().connections });
    });
  };
}

/** LOOPBACK are the addresses the admin API may bind without `allowRemote`. */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** startAdminServer binds the admin API as configured: loopback only unless `allowRemote` is set. */
export async function startAdminServer(source: AdminSource, config: AdminConfig): Promise<AdminServer> {
  if (!config.allowRemote && !LOOPBACK.has(config.address)) {
    throw new Error(
      `admin.address ${config.address} is not loopback; set admin.allowRemote: true to expose the admin API`,
    );
  }
  const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Portico admin API',
        version: '1',
        description: 'Reads need no token; changes need Authorization: Bearer <admin.token>.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(adminPlugin(source, config.token, config.historyIntervalMs));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const url = await app.listen({ host: config.address, port: config.port });
  return { app, url, close: () => app.close() };
}
