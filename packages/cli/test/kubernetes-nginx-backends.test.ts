import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createH2cServer, type Http2Server } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import {
  endpointSlice,
  ingress,
  ingressClass,
  service,
  tlsSecret,
} from '../../discovery/test/helpers/kube-fixtures.ts';
import { makeCa } from '../../proxy/test/helpers/tls-certs.ts';
import { type KubeHarness, startKubeHarness, until } from './helpers/kube-harness.ts';

const N = 'nginx.ingress.kubernetes.io/';

/** listen starts `server` on 127.0.0.1 and returns its port. */
async function listen(server: Server | Http2Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * ingress-nginx Ingresses to HTTPS and gRPC (HTTP/2) backends, with upstream TLS verified against a CA
 * from proxy-ssl-secret, redirects, timeouts and the Host and prefix sent upstream: through the
 * Kubernetes harness on real sockets.
 */
describe('portico run --kubernetes --ingress-nginx-class nginx: backends, redirects, timeouts', () => {
  let h: KubeHarness;
  const servers: (Server | Http2Server)[] = [];
  const echo =
    (protocol: string) =>
    (
      req: { url?: string | undefined; headers: Record<string, unknown> },
      res: { setHeader(n: string, v: string): void; end(b: string): void },
    ) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          protocol,
          url: req.url,
          host: req.headers.host ?? req.headers[':authority'],
          prefix: req.headers['x-forwarded-prefix'],
        }),
      );
    };
  const send = async (host: string, path = '/', port = () => h.httpPort()) => {
    const res = await request(`http://127.0.0.1:${port()}${path}`, { headers: { host } });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };

  before(async () => {
    const ca = makeCa('backend-ca');
    const leaf = ca.issue('secure.backend', ['secure.backend']);
    const https = createHttpsServer({ cert: leaf.cert, key: leaf.key }, echo('https'));
    const h2c = createH2cServer(echo('h2c'));
    const slow = createHttpServer((_req, res) => setTimeout(() => res.end('late'), 2_500));
    const plain = createHttpServer(echo('http'));
    servers.push(https, h2c, slow, plain);
    const [httpsPort, h2cPort, slowPort, plainPort] = [
      await listen(https),
      await listen(h2c),
      await listen(slow),
      await listen(plain),
    ];
    const backend = (name: string, port: number) => [
      service(name, { ports: [{ name: 'p', port: 80, targetPort: port }] }),
      endpointSlice(`${name}-1`, name, [{ address: '127.0.0.1' }], [{ name: 'p', port }]),
    ];
    const nginx = (
      name: string,
      host: string,
      svc: string,
      annotations: Record<string, string>,
      extra = {},
    ) =>
      ingress(name, {
        className: 'nginx',
        host,
        paths: [{ service: svc, port: 80 }],
        annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`${N}${k}`, v])),
        ...extra,
      });
    const site = makeCa('site').issue('tls.example', ['tls.example']);
    h = await startKubeHarness(
      (api) => {
        api.apply('ingressclasses', ingressClass('nginx', { controller: 'k8s.io/ingress-nginx' }));
        for (const [svc, slice] of [
          backend('secure', httpsPort),
          backend('grpc', h2cPort),
          backend('slow', slowPort),
          backend('plain', plainPort),
        ]) {
          api.apply('services', svc!);
          api.apply('endpointslices', slice!);
        }
        api.apply('secrets', {
          metadata: { name: 'backend-ca', namespace: 'default' },
          type: 'Opaque',
          data: { 'ca.crt': Buffer.from(ca.cert).toString('base64') },
        });
        api.apply('secrets', tlsSecret('site-tls', site.cert, site.key));
        api.apply(
          'ingresses',
          nginx('secure', 'secure.example', 'secure', {
            'backend-protocol': 'HTTPS',
            'proxy-ssl-secret': 'default/backend-ca',
            'proxy-ssl-verify': 'on',
            'proxy-ssl-name': 'secure.backend',
          }),
        );
        api.apply(
          'ingresses',
          nginx('unverified', 'unverified.example', 'secure', { 'backend-protocol': 'HTTPS' }),
        );
        api.apply(
          'ingresses',
          nginx('wrong-name', 'wrong-name.example', 'secure', {
            'backend-protocol': 'HTTPS',
            'proxy-ssl-secret': 'backend-ca',
            'proxy-ssl-verify': 'on',
            'proxy-ssl-name': 'other.backend',
          }),
        );
        api.apply('ingresses', nginx('grpc', 'grpc.example', 'grpc', { 'backend-protocol': 'GRPC' }));
        api.apply('ingresses', nginx('slow', 'slow.example', 'slow', { 'proxy-read-timeout': '1' }));
        api.apply(
          'ingresses',
          nginx('vhost', 'vhost.example', 'plain', {
            'upstream-vhost': 'internal.svc',
            'x-forwarded-prefix': '/shop',
          }),
        );
        api.apply('ingresses', nginx('root', 'root.example', 'plain', { 'app-root': '/app' }));
        api.apply(
          'ingresses',
          nginx('errors', 'errors.example', 'slow', {
            'custom-http-errors': '504',
            'default-backend': 'plain',
            'proxy-read-timeout': '1',
          }),
        );
        api.apply(
          'ingresses',
          nginx('moved', 'moved.example', 'plain', { 'permanent-redirect': 'https://new.example/here' }),
        );
        api.apply('ingresses', nginx('www', 'www.site.example', 'plain', { 'from-to-www-redirect': 'true' }));
        api.apply(
          'ingresses',
          nginx(
            'tls',
            'tls.example',
            'plain',
            {},
            { tls: [{ hosts: ['tls.example'], secretName: 'site-tls' }] },
          ),
        );
      },
      { nginxClass: 'nginx' },
    );
    await until(
      async () => (await send('tls.example')).status === 308 || (await send('tls.example')).status === 301,
      5_000,
      'served',
    );
  });
  after(async () => {
    await h.close();
    for (const s of servers) {
      (s as Server).closeAllConnections?.();
      await new Promise((r) => s.close(r));
    }
  });

  it('backend-protocol HTTPS with proxy-ssl-secret verifies the endpoint against the CA and name', async () => {
    const ok = await send('secure.example');
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.text).protocol, 'https');
    assert.equal(
      (await send('unverified.example')).status,
      200,
      'without proxy-ssl-verify: encrypted, not verified',
    );
    assert.equal(
      (await send('wrong-name.example')).status,
      502,
      'a name the certificate does not carry is refused',
    );
  });

  it('backend-protocol GRPC speaks HTTP/2 to the endpoint', async () => {
    const res = await send('grpc.example', '/svc/Method');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text).protocol, 'h2c');
  });

  it('proxy-read-timeout answers 504 when the endpoint is slower', async () => {
    const started = Date.now();
    assert.equal((await send('slow.example')).status, 504);
    assert.ok(Date.now() - started < 2_400, 'within the second it allows, not the endpoint’s 2.5 s');
  });

  it('custom-http-errors with default-backend: that Service renders the page, the status kept', async () => {
    const res = await send('errors.example', '/page');
    assert.equal(res.status, 504);
    const body = JSON.parse(res.text);
    assert.equal(body.protocol, 'http', 'the default-backend Service answered');
    assert.equal(body.url, '/');
  });

  it('upstream-vhost and x-forwarded-prefix reach the endpoint', async () => {
    const body = JSON.parse((await send('vhost.example', '/cart')).text);
    assert.equal(body.host, 'internal.svc');
    assert.equal(body.prefix, '/shop');
  });

  it('app-root, permanent-redirect, from-to-www-redirect and the TLS host redirect', async () => {
    const root = await send('root.example');
    assert.equal(root.status, 302);
    assert.equal(root.headers.location, 'http://root.example/app');
    assert.equal(JSON.parse((await send('root.example', '/app')).text).url, '/app');
    const moved = await send('moved.example', '/anything');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, 'https://new.example/here');
    const www = await send('site.example', '/a?b=1');
    assert.equal(www.status, 308);
    assert.equal(www.headers.location, 'http://www.site.example/a?b=1');
    const tls = await send('tls.example', '/x');
    assert.equal(tls.status, 301, 'a host with TLS redirects plain HTTP, as ingress-nginx does by default');
    assert.match(String(tls.headers.location), /^https:\/\/tls\.example(:\d+)?\/x$/);
  });
});
