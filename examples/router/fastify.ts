/**
 * Portico's router inside a Fastify app: one catch-all route dispatches by host and path with Kubernetes
 * Ingress semantics (for multi-tenant apps whose hosts and paths come from data, not code), and
 * `GET /_explain` shows which rule a URL would hit and why.
 *
 *   node examples/router/fastify.ts              # listens on 127.0.0.1:3001 (PORT=0 picks a free port)
 *   curl -H 'Host: acme.apps.example' http://127.0.0.1:3001/dashboard
 *   curl 'http://127.0.0.1:3001/_explain?url=http://acme.apps.example/billing/x'
 */

import { compileRouteTable, explain, requestPath } from '@portico/router';
import Fastify from 'fastify';

interface Target {
  readonly app: string;
}

const { table } = compileRouteTable<Target>([
  {
    host: '*.apps.example',
    paths: [
      { path: '/billing', type: 'Prefix', target: { app: 'billing' } },
      { path: '/', type: 'Prefix', target: { app: 'dashboard' } },
    ],
  },
  { host: 'admin.example', paths: [{ path: '/', type: 'Prefix', target: { app: 'admin' } }] },
]);

const app = Fastify();

app.get<{ Querystring: { url: string } }>('/_explain', async (request) => {
  const url = new URL(request.query.url);
  const result = explain(table, url.host, url.pathname);
  return {
    match: result.match?.target ?? null,
    rules: result.verdicts.map((v) => ({ id: v.rule.id, verdict: v.verdict, reason: v.reason })),
  };
});

app.all('/*', async (request, reply) => {
  const rule = table.match(request.headers.host ?? '', requestPath(request.url));
  if (rule === undefined) return reply.code(404).send({ error: 'no route' });
  return { app: rule.target.app, route: rule.id, host: request.headers.host, url: request.url };
});

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env['PORT'] ?? 3001) });
console.log(`listening on ${address}`);
