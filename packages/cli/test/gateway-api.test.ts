import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createH2cServer, type Http2Server } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Pool } from 'undici';
import { FakeKubeApi } from '../../discovery/test/helpers/fake-kube-api.ts';
import { endpointSlice } from '../../discovery/test/helpers/kube-fixtures.ts';
import { makeCert } from '../../proxy/test/helpers/tls-certs.ts';
import {
  applyInfra,
  BACKENDS,
  CONTROLLER_NAME,
  GATEWAY_BASE_CONFIG,
  GATEWAY_CLASS,
  gateway,
  grpcRoute,
  httpRoute,
  INFRA,
  tlsRoute,
} from './helpers/gateway-infra.ts';
import { type KubeHarness, startKubeHarness, until } from './helpers/kube-harness.ts';
import { type Pod, startPods } from './helpers/pods.ts';

type Conditions = { type: string; status: string; reason: string; observedGeneration?: number }[];

/**
 * Gateway API behaviour beyond the request tables: GatewayClass status, observedGeneration following
 * spec changes, weighted splits by share, GRPCRoute to an h2c backend, mirrors, request timeouts, and a
 * Gateway of another controller left alone.
 */
describe('portico run --kubernetes: the Gateway API', () => {
  let h: KubeHarness;
  let pods: Pod[];
  let pool: Pool;
  let grpc: Http2Server;
  let slow: Server;
  let tlsBackend: Server;
  const passthroughCert = makeCert(['passthrough.example']);

  before(async () => {
    pods = await startPods(BACKENDS.map((b) => b.name));
    grpc = createH2cServer((req, res) => {
      res.setHeader('content-type', 'application/grpc');
      res.setHeader('x-served-path', req.url);
      res.setHeader('x-seen-header', String(req.headers['x-grpc-test'] ?? ''));
      req.resume();
      req.on('end', () => {
        res.addTrailers({ 'grpc-status': '0' });
        res.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    await new Promise<void>((resolve) => grpc.listen(0, '127.0.0.10', resolve));
    const grpcPort = (grpc.address() as AddressInfo).port;
    // slow answers after 2 s: longer than a route's request timeout.
    slow = createServer((_req, res) => {
      setTimeout(() => res.end('late'), 2_000).unref();
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.11', resolve));
    const slowPort = (slow.address() as AddressInfo).port;
    // tlsBackend terminates TLS itself: a passthrough route hands it the client's TLS untouched.
    tlsBackend = createHttpsServer({ cert: passthroughCert.cert, key: passthroughCert.key }, (_req, res) =>
      res.end('tls-backend'),
    );
    await new Promise<void>((resolve) => tlsBackend.listen(0, '127.0.0.12', resolve));
    const tlsPort = (tlsBackend.address() as AddressInfo).port;
    h = await startKubeHarness(
      (api) => {
        applyInfra(api, pods);
        api.apply('services', {
          metadata: { name: 'grpc-backend', namespace: INFRA },
          spec: { ports: [{ name: 'grpc', port: 9000, protocol: 'TCP' }] },
        });
        api.apply('services', {
          metadata: { name: 'h2c-backend', namespace: INFRA },
          spec: { ports: [{ name: 'h2c', port: 8081, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }] },
        });
        api.apply(
          'endpointslices',
          endpointSlice(
            'h2c-backend-1',
            'h2c-backend',
            [{ address: '127.0.0.10' }],
            [{ name: 'h2c', port: grpcPort }],
            INFRA,
          ),
        );
        api.apply('services', {
          metadata: { name: 'tls-backend', namespace: INFRA },
          spec: { ports: [{ name: 'tls', port: 443, protocol: 'TCP' }] },
        });
        api.apply(
          'endpointslices',
          endpointSlice(
            'tls-backend-1',
            'tls-backend',
            [{ address: '127.0.0.12' }],
            [{ name: 'tls', port: tlsPort }],
            INFRA,
          ),
        );
        api.apply('services', {
          metadata: { name: 'slow-backend', namespace: INFRA },
          spec: { ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
        });
        api.apply(
          'endpointslices',
          endpointSlice(
            'slow-backend-1',
            'slow-backend',
            [{ address: '127.0.0.11' }],
            [{ name: 'http', port: slowPort }],
            INFRA,
          ),
        );
        api.apply(
          'endpointslices',
          endpointSlice(
            'grpc-backend-1',
            'grpc-backend',
            [{ address: '127.0.0.10' }],
            [{ name: 'grpc', port: grpcPort }],
            INFRA,
          ),
        );
      },
      {},
      new FakeKubeApi({ gatewayApi: true }),
      GATEWAY_BASE_CONFIG,
    );
    pool = new Pool(`http://127.0.0.1:${h.httpPort()}`, { connections: 2 });
  });

  after(async () => {
    await pool.close();
    await h.close();
    await Promise.all(pods.map((p) => p.close()));
    await new Promise((resolve) => grpc.close(resolve));
    slow.closeAllConnections();
    tlsBackend.closeAllConnections();
    await new Promise((resolve) => tlsBackend.close(resolve));
    await new Promise((resolve) => slow.close(resolve));
  });

  const send = async (host: string, path = '/') => {
    const res = await pool.request({ path, method: 'GET', headers: { host } });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      body: res.statusCode === 200 ? (JSON.parse(text) as { pod: string }) : undefined,
    };
  };

  it('accepts its GatewayClass and leaves a class of another controller alone', async () => {
    h.api.apply('gatewayclasses', {
      metadata: { name: 'someone-else' },
      spec: { controllerName: 'example.com/other' },
    });
    await until(
      () => {
        const c = h.api.get('gatewayclasses', undefined, GATEWAY_CLASS) as
          | { status?: { conditions?: Conditions } }
          | undefined;
        return c?.status?.conditions?.some((x) => x.type === 'Accepted' && x.status === 'True') === true;
      },
      5_000,
      'GatewayClass Accepted',
    );
    const c = h.api.get('gatewayclasses', undefined, GATEWAY_CLASS) as unknown as {
      status: { conditions: Conditions };
      metadata: { generation: number };
    };
    assert.equal(c.status.conditions[0]!.observedGeneration, c.metadata.generation);
    // GatewayClassObservedGenerationBump: a spec change bumps the generation; the status follows.
    h.api.apply('gatewayclasses', {
      metadata: { name: GATEWAY_CLASS },
      spec: { controllerName: CONTROLLER_NAME, description: 'bumped' },
      status: c.status,
    });
    const bumped = () =>
      h.api.get('gatewayclasses', undefined, GATEWAY_CLASS) as unknown as {
        status?: { conditions: Conditions };
        metadata: { generation: number };
      };
    assert.equal(bumped().metadata.generation, c.metadata.generation + 1);
    await until(
      () => bumped().status?.conditions[0]?.observedGeneration === c.metadata.generation + 1,
      5_000,
      'observedGeneration follows the bump',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const other = h.api.get('gatewayclasses', undefined, 'someone-else') as { status?: unknown };
    assert.equal(other.status, undefined, 'the status of a class Portico does not serve is not written');
  });

  it("follows a Gateway's spec: observedGeneration moves with its generation", async () => {
    h.api.apply('gateways', {
      metadata: { name: 'generation-bump', namespace: INFRA },
      spec: {
        gatewayClassName: GATEWAY_CLASS,
        listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostname: 'gen.example' }],
      },
    });
    const observed = () => {
      const g = h.api.get('gateways', INFRA, 'generation-bump') as
        | {
            metadata: { generation: number };
            status?: { conditions?: Conditions; listeners?: { name: string }[] };
          }
        | undefined;
      const accepted = g?.status?.conditions?.find((c) => c.type === 'Accepted');
      return {
        generation: g?.metadata.generation,
        observed: accepted?.observedGeneration,
        listeners: g?.status?.listeners,
      };
    };
    await until(() => observed().observed === 1, 5_000, 'observedGeneration 1');
    h.api.apply('gateways', {
      metadata: { name: 'generation-bump', namespace: INFRA },
      spec: {
        gatewayClassName: GATEWAY_CLASS,
        listeners: [
          { name: 'http', port: 80, protocol: 'HTTP', hostname: 'gen.example' },
          { name: 'http-2', port: 80, protocol: 'HTTP', hostname: 'gen2.example' },
        ],
      },
    });
    await until(() => observed().observed === 2, 5_000, 'observedGeneration 2');
    assert.equal(observed().generation, 2);
    assert.deepEqual(
      observed().listeners?.map((l) => l.name),
      ['http', 'http-2'],
    );
    h.api.delete('gateways', INFRA, 'generation-bump');
  });

  it('splits requests by backendRef weight (70/30/0), interleaved', async () => {
    h.api.apply(
      'httproutes',
      httpRoute('weights', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['weights.example'],
        rules: [
          {
            backendRefs: [
              { name: 'infra-backend-v1', port: 8080, weight: 70 },
              { name: 'infra-backend-v2', port: 8080, weight: 30 },
              { name: 'infra-backend-v3', port: 8080, weight: 0 },
            ],
          },
        ],
      }).object,
    );
    await until(async () => (await send('weights.example')).status === 200, 5_000, 'the route');
    const counts = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const { body } = await send('weights.example');
      counts.set(body!.pod, (counts.get(body!.pod) ?? 0) + 1);
    }
    // Smooth weighted round robin: every window of 100 requests gives each backend exactly its share.
    assert.deepEqual(Object.fromEntries(counts), { 'infra-backend-v1': 70, 'infra-backend-v2': 30 });
    h.api.delete('httproutes', INFRA, 'weights');
  });

  it('routes a GRPCRoute by service and method to an h2c backend, with header matches', async () => {
    h.api.apply(
      'grpcroutes',
      grpcRoute('grpc', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['grpc.example'],
        rules: [
          {
            matches: [{ method: { service: 'portico.test.Echo', method: 'Say' } }],
            filters: [
              {
                type: 'RequestHeaderModifier',
                requestHeaderModifier: { set: [{ name: 'x-grpc-test', value: 'set-by-route' }] },
              },
            ],
            backendRefs: [{ name: 'grpc-backend', port: 9000 }],
          },
          {
            matches: [
              { method: { service: 'portico.test.Other' }, headers: [{ name: 'x-variant', value: 'b' }] },
            ],
            backendRefs: [{ name: 'grpc-backend', port: 9000 }],
          },
        ],
      }).object,
    );
    const call = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{
        status: number;
        path: string | undefined;
        seen: string | undefined;
        grpcStatus: string | undefined;
      }>((resolve, reject) => {
        const session = connect(`http://127.0.0.1:${h.httpPort()}`);
        session.on('error', reject);
        const stream = session.request({
          ':method': 'POST',
          ':path': path,
          ':authority': 'grpc.example',
          'content-type': 'application/grpc',
          te: 'trailers',
          ...headers,
        });
        let head: Record<string, unknown> = {};
        stream.on('response', (h2) => {
          head = h2;
        });
        stream.on('trailers', (t) => {
          head = { ...head, 'grpc-status': t['grpc-status'] };
        });
        stream.resume();
        stream.on('end', () => {
          session.close();
          resolve({
            status: Number(head[':status']),
            path: head['x-served-path'] as string | undefined,
            seen: head['x-seen-header'] as string | undefined,
            grpcStatus: head['grpc-status'] as string | undefined,
          });
        });
        stream.on('error', reject);
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    await until(async () => (await call('/portico.test.Echo/Say')).status === 200, 5_000, 'the GRPCRoute');
    const said = await call('/portico.test.Echo/Say');
    assert.equal(said.path, '/portico.test.Echo/Say');
    assert.equal(said.seen, 'set-by-route');
    assert.equal(said.grpcStatus, '0', 'trailers pass through');
    assert.equal((await call('/portico.test.Echo/Other')).status, 404, 'an exact method match only');
    assert.equal((await call('/portico.test.Other/Any', { 'x-variant': 'b' })).status, 200);
    assert.equal((await call('/portico.test.Other/Any', { 'x-variant': 'c' })).status, 404);
    const route = h.api.get('grpcroutes', INFRA, 'grpc') as {
      status?: { parents?: { controllerName: string; conditions: Conditions }[] };
    };
    const parent = route.status?.parents?.find((p) => p.controllerName === CONTROLLER_NAME);
    assert.equal(parent?.conditions.find((c) => c.type === 'Accepted')?.status, 'True');
    h.api.delete('grpcroutes', INFRA, 'grpc');
  });

  it('speaks h2c to a Service port whose appProtocol is kubernetes.io/h2c (HTTPRouteBackendProtocolH2C)', async () => {
    h.api.apply(
      'httproutes',
      httpRoute('h2c', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['h2c.example'],
        rules: [{ backendRefs: [{ name: 'h2c-backend', port: 8081 }] }],
      }).object,
    );
    const get = async () => {
      const res = await pool.request({ path: '/h2c-path', method: 'GET', headers: { host: 'h2c.example' } });
      await res.body.dump();
      return res;
    };
    await until(async () => (await get()).statusCode !== 404, 5_000, 'the route');
    const res = await get();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-served-path'], '/h2c-path', 'the HTTP/2-only backend answered');
    h.api.delete('httproutes', INFRA, 'h2c');
  });

  it('passes TLS through to the backend a TLSRoute names by SNI (TLS listener, Passthrough)', async () => {
    h.api.apply(
      'gateways',
      gateway('tls-passthrough', [
        {
          name: 'tls',
          port: 8443,
          protocol: 'TLS',
          tls: { mode: 'Passthrough' },
          allowedRoutes: { namespaces: { from: 'Same' } },
        },
      ]).object,
    );
    h.api.apply(
      'tlsroutes',
      tlsRoute('passthrough', {
        parentRefs: [{ name: 'tls-passthrough' }],
        hostnames: ['passthrough.example'],
        rules: [{ backendRefs: [{ name: 'tls-backend', port: 443 }] }],
      }).object,
    );
    const port = h.portico.proxy.listeners().find((l) => l.name === 'passthrough')!.port;
    const fetchOver = (servername: string) =>
      new Promise<{ cn: string; body: string }>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
          const cn = String(socket.getPeerCertificate().subject?.CN ?? '');
          let body = '';
          socket.on('data', (d: Buffer) => {
            body += d.toString();
          });
          socket.on('end', () => resolve({ cn, body }));
          socket.end(`GET / HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
        });
        socket.on('error', reject);
      });
    await until(
      async () =>
        (await fetchOver('passthrough.example').catch(() => ({ cn: '' }))).cn === 'passthrough.example',
      5_000,
      'the passthrough route',
    );
    const { cn, body } = await fetchOver('passthrough.example');
    assert.equal(cn, 'passthrough.example', "the backend's own certificate: Portico did not terminate");
    assert.match(body, /tls-backend$/);
    await assert.rejects(fetchOver('unknown.example'), 'no route for another name: the connection is closed');
    const route = h.api.get('tlsroutes', INFRA, 'passthrough') as {
      status?: { parents?: { conditions: Conditions }[] };
    };
    assert.equal(route.status?.parents?.[0]?.conditions.find((c) => c.type === 'Accepted')?.status, 'True');
    h.api.delete('tlsroutes', INFRA, 'passthrough');
    h.api.delete('gateways', INFRA, 'tls-passthrough');
  });

  it('copies requests to a RequestMirror backend and answers from the main one', async () => {
    h.api.apply(
      'httproutes',
      httpRoute('mirror', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['mirror.example'],
        rules: [
          {
            filters: [
              {
                type: 'RequestMirror',
                requestMirror: { backendRef: { name: 'infra-backend-v2', port: 8080 } },
              },
            ],
            backendRefs: [{ name: 'infra-backend-v1', port: 8080 }],
          },
        ],
      }).object,
    );
    await until(async () => (await send('mirror.example')).status === 200, 5_000, 'the route');
    const before = pods[1]!.requests;
    for (let i = 0; i < 5; i++) assert.equal((await send('mirror.example')).body?.pod, 'infra-backend-v1');
    await until(() => pods[1]!.requests >= before + 5, 5_000, 'five mirrored copies at infra-backend-v2');
    h.api.delete('httproutes', INFRA, 'mirror');
  });

  it('answers 504 after timeouts.request, and refuses a duration that is not one', async () => {
    h.api.apply(
      'httproutes',
      httpRoute('timeouts', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['timeout.example'],
        rules: [{ timeouts: { request: '200ms' }, backendRefs: [{ name: 'slow-backend', port: 8080 }] }],
      }).object,
    );
    h.api.apply(
      'httproutes',
      httpRoute('bad-timeouts', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['bad-timeout.example'],
        rules: [
          { timeouts: { request: 'ten seconds' }, backendRefs: [{ name: 'infra-backend-v1', port: 8080 }] },
        ],
      }).object,
    );
    await until(async () => (await send('timeout.example')).status !== 404, 5_000, 'the route');
    const started = performance.now();
    assert.equal((await send('timeout.example')).status, 504);
    const took = performance.now() - started;
    assert.ok(took >= 190 && took < 1_500, `answered after ${took.toFixed(0)} ms`);
    await until(
      () => {
        const r = h.api.get('httproutes', INFRA, 'bad-timeouts') as {
          status?: { parents?: { conditions: Conditions }[] };
        };
        const c = r.status?.parents?.[0]?.conditions.find((x) => x.type === 'Accepted');
        return c?.status === 'False' && c.reason === 'UnsupportedValue';
      },
      5_000,
      'bad-timeouts not accepted',
    );
    assert.equal((await send('bad-timeout.example')).status, 404);
    h.api.delete('httproutes', INFRA, 'timeouts');
    h.api.delete('httproutes', INFRA, 'bad-timeouts');
  });

  it('an HTTPRoute the config refuses (a header name that is not a token) is left out and reported', async () => {
    h.api.apply(
      'httproutes',
      httpRoute('bad-header', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['bad-header.example'],
        rules: [
          {
            filters: [
              {
                type: 'RequestHeaderModifier',
                requestHeaderModifier: { set: [{ name: 'X-Bad\r\nInjected', value: 'x' }] },
              },
            ],
            backendRefs: [{ name: 'infra-backend-v1', port: 8080 }],
          },
        ],
      }).object,
    );
    h.api.apply(
      'httproutes',
      httpRoute('good-neighbour', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['good.example'],
        rules: [{ backendRefs: [{ name: 'infra-backend-v1', port: 8080 }] }],
      }).object,
    );
    await until(async () => (await send('good.example')).status === 200, 5_000, 'the good route');
    assert.equal((await send('bad-header.example')).status, 404);
    await until(
      () => {
        const r = h.api.get('httproutes', INFRA, 'bad-header') as {
          status?: { parents?: { conditions: Conditions }[] };
        };
        return r.status?.parents?.[0]?.conditions.find((x) => x.type === 'Accepted')?.status === 'False';
      },
      5_000,
      'bad-header not accepted',
    );
    const issues = h.portico.kubernetes?.view().issues ?? [];
    assert.ok(
      issues.some((i) => i.object.kind === 'HTTPRoute' && i.object.name === 'bad-header'),
      JSON.stringify(issues.map((i) => i.object.name)),
    );
    h.api.delete('httproutes', INFRA, 'bad-header');
    h.api.delete('httproutes', INFRA, 'good-neighbour');
  });
});
