import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { parseAllDocuments } from 'yaml';
import { FakeKubeApi } from '../../discovery/test/helpers/fake-kube-api.ts';
import { endpointSlice, ingress, ingressClass, service } from '../../discovery/test/helpers/kube-fixtures.ts';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { type KubeHarness, startKubeHarness, until } from './helpers/kube-harness.ts';
import { type Pebble, planPebble, served, startPebble } from './helpers/pebble.ts';

/** rbacRules are the rules base/rbac.yaml and acme/rbac.yaml grant Portico (a Role's, in its namespace). */
function rbacRules(): { resources: string[]; verbs: string[]; namespace: string | undefined }[] {
  const files = ['base/rbac.yaml', 'acme/rbac.yaml'].map((f) =>
    readFileSync(new URL(`../../../examples/kubernetes/${f}`, import.meta.url), 'utf8'),
  );
  return files.flatMap((text) =>
    parseAllDocuments(text).flatMap((doc) => {
      const m = doc.toJS() as {
        kind: string;
        metadata: { namespace?: string };
        rules?: { resources: string[]; verbs: string[] }[];
      };
      if (m.kind !== 'ClusterRole' && m.kind !== 'Role') return [];
      return (m.rules ?? []).map((r) => ({
        ...r,
        namespace: m.kind === 'Role' ? m.metadata.namespace : undefined,
      }));
    }),
  );
}

/**
 * ACME for a fleet in Kubernetes: two instances watch one (fake) API server; the Lease leader orders the
 * certificates annotated Ingresses ask for from pebble, the HTTP-01 and TLS-ALPN-01 answers go through a
 * ConfigMap both watch, and pebble validates against the other instance (the non-leader), which answers
 * them; each certificate lands in its Ingress's TLS Secret and both instances serve it.
 */
describe('ACME in Kubernetes: the leader orders, any instance answers the challenge', () => {
  let dir: string;
  let api: FakeKubeApi;
  let backend: Backend;
  let pebble: Pebble;
  let leader: KubeHarness;
  let other: KubeHarness;
  let otherPorts: { http: number; https: number };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-acme-k8s-'));
    backend = await startBackend('site');
    const plan = await planPebble(dir);
    api = new FakeKubeApi({ gatewayApi: true });
    await api.start();
    api.apply('ingressclasses', ingressClass('portico'));
    api.apply('services', service('site'));
    api.apply(
      'endpointslices',
      endpointSlice('site-1', 'site', [{ address: '127.0.0.1' }], [{ name: 'http', port: backend.port }]),
    );
    api.apply('gatewayclasses', {
      metadata: { name: 'portico' },
      spec: { controllerName: 'portico.dev/gateway-controller' },
    } as never);
    // A Secret someone else manages, which an Ingress names: Portico must not overwrite it.
    api.apply('secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'database-password', namespace: 'default' },
      data: { password: Buffer.from('s3cret').toString('base64') },
    } as never);
    const acme = `listeners:
  - { name: http, address: 127.0.0.1, port: 0, gatewayPort: 80 }
  - { name: https, address: 127.0.0.1, port: 0, gatewayPort: 443, protocol: https, tls: {} }
admin: { address: 127.0.0.1, port: 0 }
acme:
  directoryUrl: ${plan.directoryUrl}
  caFile: ${plan.caFile}
  checkIntervalMs: 1000
  retryMinMs: 1000
`;
    // Two instances of one process: each its own identity for the Lease, as two pods would have.
    const election = (pod: string) => ({
      leaderElection: true,
      electionNamespace: 'portico-system',
      env: { ...process.env, POD_NAME: pod },
    });
    leader = await startKubeHarness(() => {}, election('edge-a'), api, acme);
    await until(() => leader.portico.kubernetes?.leading === true, 10_000, 'the first instance leads');
    other = await startKubeHarness(() => {}, election('edge-b'), api, acme);
    // Pebble validates on the second instance's ports: the one that does not lead. It starts once both
    // instances listen (no port is picked ahead and lost to another test), and the objects asking for
    // certificates come once it runs.
    otherPorts = { http: other.httpPort(), https: other.httpsPort() };
    pebble = await startPebble(dir, otherPorts.http, otherPorts.https, plan);
    api.apply(
      'ingresses',
      ingress('site', {
        host: 'acme-k8s.test',
        paths: [{ service: 'site', port: 80 }],
        // The wildcard cannot be proven by HTTP-01: left out, and said so.
        tls: [{ hosts: ['acme-k8s.test', '*.wild-k8s.test'], secretName: 'site-tls' }],
        annotations: { 'portico.dev/acme': 'true' },
      }),
    );
    api.apply(
      'ingresses',
      ingress('site-alpn', {
        host: 'alpn-k8s.test',
        paths: [{ service: 'site', port: 80 }],
        tls: [{ hosts: ['alpn-k8s.test'], secretName: 'site-alpn-tls' }],
        annotations: {
          'cert-manager.io/cluster-issuer': 'letsencrypt',
          'portico.dev/acme-challenge': 'tls-alpn-01',
        },
      }),
    );
    // A Gateway whose HTTPS listener has no certificateRefs and asks for an ACME certificate instead.
    api.apply('gateways', {
      metadata: { name: 'edge', namespace: 'default' },
      spec: {
        gatewayClassName: 'portico',
        listeners: [
          { name: 'http', port: 80, protocol: 'HTTP' },
          {
            name: 'https',
            port: 443,
            protocol: 'HTTPS',
            hostname: 'gw-k8s.test',
            tls: { mode: 'Terminate', options: { 'portico.dev/acme': 'true' } },
          },
        ],
      },
    } as never);
    api.apply('httproutes', {
      metadata: { name: 'gw-site', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'edge' }],
        hostnames: ['gw-k8s.test'],
        rules: [{ backendRefs: [{ name: 'site', port: 80 }] }],
      },
    } as never);
    api.apply(
      'ingresses',
      ingress('hijack', {
        host: 'hijack-k8s.test',
        paths: [{ service: 'site', port: 80 }],
        tls: [{ hosts: ['hijack-k8s.test'], secretName: 'database-password' }],
        annotations: { 'portico.dev/acme': 'true' },
      }),
    );
  });

  after(async () => {
    await other?.portico.stop(200);
    await leader?.portico.stop(200);
    await api.close();
    pebble?.stop();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the certificates land in the Ingress Secrets and both instances serve them (HTTP-01 and TLS-ALPN-01)', async () => {
    assert.equal(other.portico.kubernetes?.leading, false, 'the second instance does not lead');
    for (const [secretName, host] of [
      ['site-tls', 'acme-k8s.test'],
      ['site-alpn-tls', 'alpn-k8s.test'],
      ['edge-https-acme', 'gw-k8s.test'],
    ] as const) {
      await until(
        () => api.get('secrets', 'default', secretName) !== undefined,
        30_000,
        `the TLS Secret ${secretName} written`,
      ).catch((error: Error) => {
        const acme = (logs: Record<string, unknown>[]) =>
          logs.filter((l) => /ACME/.test(String(l['msg']))).map((l) => l['msg']);
        throw new Error(`${error.message}\n${[...acme(leader.logs), ...acme(other.logs)].join('\n')}`);
      });
      const secret = api.get('secrets', 'default', secretName) as unknown as {
        type: string;
        data: Record<string, string>;
      };
      assert.equal(secret.type, 'kubernetes.io/tls');
      assert.match(Buffer.from(secret.data['tls.crt']!, 'base64').toString(), /BEGIN CERTIFICATE/);
      for (const port of [leader.httpsPort(), otherPorts.https]) {
        await until(
          async () => /Pebble/.test(String((await served(port, host)).cert.issuer?.CN)),
          10_000,
          `the certificate for ${host} served on ${port}`,
        );
        const { authorized } = await served(port, host, pebble.root);
        assert.ok(authorized, "the chain verifies against pebble's root");
      }
    }
    const ordered = (logs: Record<string, unknown>[]) =>
      logs.filter((l) => String(l['msg']).startsWith('ACME: ordering')).length;
    assert.equal(
      ordered(leader.logs),
      3,
      `the leader ordered once per Secret: ${leader.logs
        .map((l) => l['msg'])
        .filter((m) => String(m).startsWith('ACME'))
        .join(' | ')}`,
    );
    assert.equal(ordered(other.logs), 0, 'the other instance ordered nothing');
    // The Gateway listener is programmed once its certificate exists, and serves its route over HTTPS.
    await until(
      () => {
        const gw = api.get('gateways', 'default', 'edge') as unknown as {
          status?: { listeners?: { name: string; conditions: { type: string; status: string }[] }[] };
        };
        const https = gw.status?.listeners?.find((l) => l.name === 'https');
        return https?.conditions.find((c) => c.type === 'ResolvedRefs')?.status === 'True';
      },
      10_000,
      'the https listener ResolvedRefs True',
    );
    const dispatcher = new Agent({ connect: { ca: pebble.root, servername: 'gw-k8s.test' } });
    try {
      const res = await request(`https://127.0.0.1:${otherPorts.https}/`, {
        headers: { host: 'gw-k8s.test' },
        dispatcher,
      });
      assert.equal(res.statusCode, 200);
      assert.equal(((await res.body.json()) as { backend: string }).backend, 'site');
    } finally {
      await dispatcher.close();
    }
    // The Secret it does not manage is untouched, and the refusal says why.
    const untouched = api.get('secrets', 'default', 'database-password') as unknown as {
      type: string;
      data: Record<string, string>;
    };
    assert.equal(untouched.type, 'Opaque');
    assert.deepEqual(Object.keys(untouched.data), ['password']);
    assert.ok(
      leader.logs.some((l) =>
        /ACME order for hijack-k8s\.test .*is not managed by Portico/.test(String(l['msg'])),
      ),
      'the refusal is logged',
    );
    // The wildcard left out is logged and posted as an Event on its Ingress.
    assert.ok(
      leader.logs.some((l) =>
        /\*\.wild-k8s\.test left out of the certificate for Secret default\/site-tls/.test(String(l['msg'])),
      ),
    );
    assert.ok(
      api
        .list('events')
        .some(
          (e) =>
            (e.involvedObject as { name: string }).name === 'site' &&
            /wildcard needs DNS-01/.test(String(e.message)),
        ),
      'the wildcard Event on Ingress default/site',
    );
    // And posted, by the leader, as a Warning Event on the Ingress that asked.
    await until(
      () =>
        api
          .list('events')
          .some(
            (e) =>
              e.reason === 'PORTICO_KUBE_ACME_ORDER_FAILED' &&
              (e.involvedObject as { name: string; fieldPath: string }).name === 'hijack' &&
              (e.involvedObject as { fieldPath: string }).fieldPath === 'spec.tls[0]' &&
              /is not managed by Portico/.test(String(e.message)),
          ),
      5_000,
      'the Warning Event on Ingress default/hijack',
    );
    // Every Secret and ConfigMap call the instances made is one examples/kubernetes grants with acme/rbac.yaml.
    const rules = rbacRules();
    for (const r of api.requests.filter((q) => q.plural === 'secrets' || q.plural === 'configmaps')) {
      const namespace = /^\/api\/v1\/namespaces\/([^/]+)\//.exec(r.path)?.[1];
      const named = /\/(secrets|configmaps)\/[^/]+$/.test(r.path);
      const verb = r.watch
        ? 'watch'
        : (
            { GET: named ? 'get' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch' } as Record<
              string,
              string
            >
          )[r.method];
      assert.ok(
        rules.some(
          (rule) =>
            rule.resources.includes(r.plural) &&
            rule.verbs.includes(String(verb)) &&
            (rule.namespace === undefined || rule.namespace === namespace),
        ),
        `${r.method} ${r.path} (${verb}) is granted by examples/kubernetes`,
      );
    }
    // GET /acme lists each Secret asked for; one no Ingress asks for any more leaves the list.
    const secrets = async () =>
      ((await (await request(`${leader.portico.adminUrl}/acme`)).body.json()) as { host: string }[]).map(
        (h) => h.host,
      );
    assert.ok((await secrets()).includes('default/database-password'));
    api.delete('ingresses', 'default', 'hijack');
    await until(
      async () => !(await secrets()).includes('default/database-password'),
      5_000,
      'the entry gone',
    );
    assert.ok((await secrets()).includes('default/site-tls'));
    // The answer went through the ConfigMap, which is empty again.
    const challenges = api.get('configmaps', 'portico-system', 'portico-acme-challenges') as unknown as {
      data?: Record<string, string>;
    };
    assert.deepEqual(challenges.data ?? {}, {});
  });
});
