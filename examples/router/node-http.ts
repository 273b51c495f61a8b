/**
 * Portico's router inside a plain `node:http` app: the route table maps hosts and paths to handlers,
 * with the same Kubernetes Ingress semantics Portico's proxy uses.
 *
 *   node examples/router/node-http.ts            # listens on 127.0.0.1:3000 (PORT=0 picks a free port)
 *   curl -H 'Host: shop.example' http://127.0.0.1:3000/api/orders/7
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { compileRouteTable, requestPath } from '@portico/router';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const json =
  (body: unknown): Handler =>
  (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(`${JSON.stringify(body)}\n`);
  };

const { table, issues } = compileRouteTable<Handler>(
  [
    {
      name: 'shop',
      host: 'shop.example',
      paths: [
        {
          path: '/api/orders',
          type: 'Prefix',
          target: (req, res) => json({ handler: 'orders', url: req.url })(req, res),
        },
        { path: '/health', type: 'Exact', target: json({ handler: 'health', ok: true }) },
        { path: '/', type: 'Prefix', target: json({ handler: 'storefront' }) },
      ],
    },
    {
      name: 'tenants',
      host: '*.tenants.example',
      paths: [
        {
          path: '/',
          type: 'Prefix',
          target: (req, res) =>
            json({ handler: 'tenant', tenant: req.headers.host?.split('.')[0] })(req, res),
        },
      ],
    },
  ],
  {
    defaultTarget: (_req, res) => {
      res.statusCode = 404;
      res.end('no such route\n');
    },
  },
);
for (const issue of issues) console.warn(`${issue.severity}: ${issue.at}: ${issue.message}`);

const server = createServer((req, res) => {
  const rule = table.match(req.headers.host ?? '', requestPath(req.url ?? '/'));
  rule!.target(req, res); // a default target is set, so there is always a rule
});
server.listen(Number(process.env['PORT'] ?? 3000), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}`);
});
