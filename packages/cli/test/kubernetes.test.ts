import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import {
  endpointSlice,
  ingress,
  ingressClass,
  service,
  tlsSecret,
} from '../../discovery/test/helpers/kube-fixtures.ts';
import { makeCert } from '../../proxy/test/helpers/tls-certs.ts';
import {
  get,
  type KubeHarness,
  SteadyLoop,
  servedCertificate,
  servedCertificateCn,
  startKubeHarness,
  until,
} from './helpers/kube-harness.ts';
import { type Pod, startPods } from './helpers/pods.ts';

describe('portico run --kubernetes: Ingresses, Services and EndpointSlices from the API to live routes', () => {
  let h: KubeHarness;
  let pods: Pod[];
  let pool: Pool;
  const slice = (name: string, svc: string, up: Pod[], extra: Parameters<typeof endpointSlice>[2] = []) =>
    endpointSlice(
      name,
      svc,
      [...up.map((p) => ({ address: p.address })), ...extra],
      [{ name: 'http', port: pods[0]!.port }],
    );

  before(async () => {
    pods = await startPods(['web-a', 'web-b', 'web-c', 'other-a']);
    h = await startKubeHarness((api) => {
      api.apply('ingressclasses', ingressClass('portico'));
      api.apply('ingressclasses', ingressClass('nginx', { controller: 'k8s.io/ingress-nginx' }));
      api.apply('services', service('web', { ports: [{ name: 'http', port: 80, targetPort: 8080 }] }));
      api.apply('endpointslices', slice('web-abc12', 'web', [pods[0]!, pods[1]!]));
      api.apply('ingresses', ingress('web', { host: 'web.example', paths: [{ service: 'web', port: 80 }] }));
    });
    pool = new Pool(`http://127.0.0.1:${h.httpPort()}`, { connections: 4 });
  });
  after(async () => {
    await pool.close();
    await h.close();
    await Promise.all(pods.map((p) => p.close()));
  });

  it('serves an Ingress to its Service port, resolved through the EndpointSlice to the pods (never the VIP)', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const { status, body } = await get(pool, 'web.example');
      assert.equal(status, 200);
      seen.add(body!.pod!);
    }
    assert.deepEqual([...seen].sort(), ['web-a', 'web-b']);
    const services = h.portico.proxy.snapshot.config.services.find((s) => s.name === 'default/web:80');
    assert.deepEqual(services?.endpoints.map((e) => `${e.address}:${e.port}`).sort(), [
      `${pods[0]!.address}:${pods[0]!.port}`,
      `${pods[1]!.address}:${pods[1]!.port}`,
    ]);
  });

  it('a new Ingress serves within milliseconds of its watch event; the convergence is measured', async () => {
    const started = Date.now();
    h.api.apply('services', service('new', { ports: [{ name: 'http', port: 80 }] }));
    h.api.apply('endpointslices', slice('new-1', 'new', [pods[2]!]));
    h.api.apply(
      'ingresses',
      ingress('new', { host: 'new.example', paths: [{ service: 'new', port: 'http' }] }),
    );
    await until(async () => (await get(pool, 'new.example')).status === 200, 2_000, 'new.example');
    assert.ok(Date.now() - started < 1_000);
    const admin = h.portico.adminUrl!;
    const discovery = (await (await fetch(`${admin}/discovery`)).json()) as {
      source: string;
      convergence: { count: number; sumMs: number };
      watches: { kind: string; watches: number }[];
    };
    assert.equal(discovery.source, 'kubernetes');
    assert.ok(discovery.convergence.count >= 1);
    assert.ok(
      discovery.convergence.sumMs / discovery.convergence.count < 100,
      'mean event-to-live under 100 ms',
    );
    assert.deepEqual(discovery.watches.map((w) => w.kind).sort(), [
      'EndpointSlice',
      'Ingress',
      'IngressClass',
      'Secret',
      'Service',
    ]);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /portico_discovery_convergence_seconds_count\{source="kubernetes"\} [1-9]/);
    assert.match(metrics, /portico_discovery_objects\{kind="Ingress",namespace="\*"\} 2/);
  });

  it('Ingresses of another class are not served', async () => {
    h.api.apply(
      'ingresses',
      ingress('theirs', {
        className: 'nginx',
        host: 'theirs.example',
        paths: [{ service: 'web', port: 80 }],
      }),
    );
    h.api.apply(
      'ingresses',
      ingress('marker', { host: 'marker.example', paths: [{ service: 'web', port: 80 }] }),
    );
    await until(async () => (await get(pool, 'marker.example')).status === 200, 2_000, 'marker');
    assert.equal((await get(pool, 'theirs.example')).status, 404);
  });

  it('scaling up and down and a terminating pod change traffic with no failed request under a steady loop', async () => {
    const [a, b, c] = pods as [Pod, Pod, Pod];
    const loop = new SteadyLoop(pool, 'web.example', 5, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Scale up: c joins.
    h.api.apply('endpointslices', slice('web-abc12', 'web', [a, b, c]));
    await until(() => loop.results.some((r) => r.pod === 'web-c'), 3_000, 'web-c to get traffic');
    // Scale down: a leaves.
    const removedAt = Date.now();
    h.api.apply('endpointslices', slice('web-abc12', 'web', [b, c]));
    await until(() => loop.since(removedAt + 300).length > 20, 5_000, 'requests after removing web-a');
    assert.ok(!loop.since(removedAt + 300).some((r) => r.pod === 'web-a'), 'web-a gets nothing once removed');
    // b terminates: not ready, still serving; c is ready, so b gets no new request.
    const terminatingAt = Date.now();
    h.api.apply(
      'endpointslices',
      slice(
        'web-abc12',
        'web',
        [c],
        [{ address: b.address, ready: false, serving: true, terminating: true }],
      ),
    );
    await until(() => loop.since(terminatingAt + 300).length > 20, 5_000, 'requests after web-b terminates');
    assert.ok(
      !loop.since(terminatingAt + 300).some((r) => r.pod === 'web-b'),
      'a terminating pod gets no new request',
    );
    await loop.stop();
    assert.deepEqual(loop.failures, [], 'no request failed');
    assert.ok(loop.results.length > 100, `${loop.results.length} requests`);
  });

  it('when every pod terminates, the serving ones still take requests (graceful drain)', async () => {
    const d = pods[3]!;
    h.api.apply('services', service('drain', { ports: [{ name: 'http', port: 80 }] }));
    h.api.apply(
      'endpointslices',
      endpointSlice(
        'drain-1',
        'drain',
        [{ address: d.address, ready: false, serving: true, terminating: true }],
        [{ name: 'http', port: d.port }],
      ),
    );
    h.api.apply(
      'ingresses',
      ingress('drain', { host: 'drain.example', paths: [{ service: 'drain', port: 80 }] }),
    );
    await until(
      async () => (await get(pool, 'drain.example')).status === 200,
      2_000,
      'drain.example served by a serving, terminating pod',
    );
  });

  it('a Secret rotation changes the served certificate; a missing Secret leaves the default', async () => {
    const one = makeCert(['secure.example']);
    h.api.apply('secrets', tlsSecret('secure-tls', one.cert, one.key));
    h.api.apply(
      'ingresses',
      ingress('secure', {
        host: 'secure.example',
        paths: [{ service: 'web', port: 80 }],
        tls: [{ hosts: ['secure.example'], secretName: 'secure-tls' }],
      }),
    );
    const port = h.httpsPort();
    await until(
      async () => (await servedCertificateCn(port, 'secure.example')) === 'secure.example',
      3_000,
      'first certificate',
    );
    const fingerprint = async () => (await servedCertificate(port, 'secure.example')).fingerprint256;
    const before = await fingerprint();
    const two = makeCert(['secure.example']);
    h.api.apply('secrets', tlsSecret('secure-tls', two.cert, two.key));
    const took = await until(async () => (await fingerprint()) !== before, 3_000, 'rotated certificate');
    assert.ok(took < 2_000, `rotation served after ${took} ms`);
    // Plain HTTP to a host with TLS is served (the Ingress conformance suite's host_rules); an
    // Ingress asks for the redirect with portico.dev/ssl-redirect (or the controller with --ssl-redirect).
    assert.equal((await get(pool, 'secure.example', '/x')).status, 200);
    h.api.apply(
      'ingresses',
      ingress('secure-redirect', {
        host: 'redirect.example',
        paths: [{ service: 'web', port: 80 }],
        annotations: { 'portico.dev/ssl-redirect': 'true' },
      }),
    );
    await until(async () => (await get(pool, 'redirect.example', '/x')).status === 301, 2_000, 'redirect');
    // A tls entry whose Secret is missing: the host is served with the default certificate.
    h.api.apply(
      'ingresses',
      ingress('nosecret', {
        host: 'nosecret.example',
        paths: [{ service: 'web', port: 80 }],
        tls: [{ hosts: ['nosecret.example'], secretName: 'absent' }],
      }),
    );
    await until(
      () => h.portico.kubernetes!.issues.some((i) => i.code === 'PORTICO_KUBE_SECRET_MISSING'),
      2_000,
      'issue',
    );
    assert.equal(await servedCertificateCn(port, 'nosecret.example'), 'Portico Default Certificate');
    assert.equal(await servedCertificateCn(port, 'secure.example'), 'secure.example');
    // A Host another certificate serves, on a connection made for secure.example: 421 Misdirected Request.
    const misdirected = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          servername: 'secure.example',
          path: '/',
          headers: { host: 'nosecret.example' },
          rejectUnauthorized: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(misdirected, 421);
    // A TLS Secret whose certificate does not parse is an issue on its Ingress, in /discovery too.
    h.api.apply('secrets', tlsSecret('garbled-tls', 'not a certificate', 'not a key'));
    h.api.apply(
      'ingresses',
      ingress('garbled', {
        host: 'garbled.example',
        paths: [{ service: 'web', port: 80 }],
        tls: [{ hosts: ['garbled.example'], secretName: 'garbled-tls' }],
      }),
    );
    await until(
      async () => {
        const view = (await (await fetch(`${h.portico.adminUrl}/discovery`)).json()) as {
          issues: { object: string; field: string }[];
        };
        return view.issues.some((i) => i.object === 'Ingress default/garbled' && i.field === 'spec.tls');
      },
      2_000,
      'the bad Secret in /discovery',
    );
  });

  it('a bad Ingress affects only its own routes; the problem is an issue in the admin API and an Event', async () => {
    h.api.apply(
      'ingresses',
      ingress('broken', {
        host: 'broken.example',
        paths: [{ service: 'does-not-exist', port: 80 }],
        annotations: { 'portico.dev/load-balnce': 'maglev', 'portico.dev/retries': 'many' },
      }),
    );
    await until(async () => (await get(pool, 'broken.example')).status === 503, 2_000, 'broken.example 503');
    assert.equal((await get(pool, 'web.example')).status, 200);
    const discovery = (await (await fetch(`${h.portico.adminUrl}/discovery`)).json()) as {
      issues: { code: string; object: string; field: string }[];
    };
    const codes = discovery.issues
      .filter((i) => i.object === 'Ingress default/broken')
      .map((i) => i.code)
      .sort();
    assert.deepEqual(codes, [
      'PORTICO_KUBE_ANNOTATION_INVALID',
      'PORTICO_KUBE_ANNOTATION_UNKNOWN',
      'PORTICO_KUBE_SERVICE_MISSING',
    ]);
    await until(
      () =>
        h.api.list('events').filter((e) => (e.involvedObject as { name: string }).name === 'broken')
          .length === 3,
      2_000,
      'three Events',
    );
    const event = h.api.list('events').find((e) => e.reason === 'PORTICO_KUBE_SERVICE_MISSING')!;
    assert.equal(event.type, 'Warning');
    assert.match(String(event.message), /does-not-exist/);
    assert.ok(
      h.logs.some((l) => l.code === 'PORTICO_KUBE_ANNOTATION_UNKNOWN'),
      'logged',
    );
    // The Service appears: the same Ingress serves, with no restart.
    h.api.apply('services', service('does-not-exist', { ports: [{ name: 'http', port: 80 }] }));
    h.api.apply('endpointslices', slice('dne-1', 'does-not-exist', [pods[2]!]));
    await until(
      async () => (await get(pool, 'broken.example')).status === 200,
      2_000,
      'broken.example fixed',
    );
  });

  it('an invalid path leaves out only that Ingress', async () => {
    h.api.apply(
      'ingresses',
      ingress('badpath', {
        host: 'badpath.example',
        paths: [{ path: '/a/../b', pathType: 'Prefix', service: 'web', port: 80 }],
      }),
    );
    h.api.apply(
      'ingresses',
      ingress('goodpath', { host: 'goodpath.example', paths: [{ path: '/ok', service: 'web', port: 80 }] }),
    );
    await until(async () => (await get(pool, 'goodpath.example', '/ok')).status === 200, 2_000, 'goodpath');
    assert.equal((await get(pool, 'badpath.example', '/a/b')).status, 404);
    assert.equal((await get(pool, 'web.example')).status, 200);
    assert.ok(
      h.portico.kubernetes!.issues.some(
        (i) => i.object.name === 'badpath' && i.code === 'PORTICO_ROUTE_INVALID_PATH',
      ),
    );
  });

  for (const [fault, set] of [
    [
      '410 Gone on the watch',
      (h: KubeHarness) => {
        h.api.compact();
        h.api.dropWatches();
      },
    ],
    [
      '500 on every watch',
      (h: KubeHarness) => {
        h.api.faults.watchStatus = 500;
        h.api.dropWatches();
      },
    ],
    [
      'a silent, hanging watch',
      (h: KubeHarness) => {
        h.api.faults.watchHang = true;
        h.api.dropWatches();
      },
    ],
    [
      'a server that closes every watch at once',
      (h: KubeHarness) => {
        h.api.faults.watchClose = true;
        h.api.dropWatches();
      },
    ],
    [
      '410 as an in-stream ERROR event',
      (h: KubeHarness) => {
        h.api.faults.watchGoneInStream = true;
        h.api.dropWatches();
      },
    ],
  ] as const) {
    it(`recovers from ${fault}: serving throughout, converging after, with bounded watch requests`, async () => {
      const loop = new SteadyLoop(pool, 'web.example', 10, 10_000);
      const before = h.api.watchRequests();
      set(h);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const during = h.api.watchRequests() - before;
      // Five watches (one per kind), each backing off 100 ms doubling to 500 ms with jitter: no hot loop.
      assert.ok(during <= 5 * 8, `${during} watch requests in 1.5 s`);
      const host = `after-${h.api.resourceVersion}.example`;
      h.api.apply('ingresses', ingress(host.split('.')[0]!, { host, paths: [{ service: 'web', port: 80 }] }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      h.api.faults = {};
      const healed = Date.now();
      await until(
        async () => (await get(pool, host)).status === 200,
        4_000,
        `${host} after the fault cleared`,
      );
      const converged = Date.now() - healed;
      await loop.stop();
      assert.deepEqual(loop.failures, [], 'current routes kept serving');
      assert.ok(converged < 2_000, `converged ${converged} ms after the API healed`);
    });
  }
});
