import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeKubeApi } from '../../discovery/test/helpers/fake-kube-api.ts';
import { endpointSlice, ingress, ingressClass, service } from '../../discovery/test/helpers/kube-fixtures.ts';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { type KubeHarness, startKubeHarness, until } from './helpers/kube-harness.ts';
import { freePort, type Pebble, served, startPebble } from './helpers/pebble.ts';

/**
 * ACME for a fleet in Kubernetes: two instances watch one (fake) API server; the Lease leader orders the
 * certificate an annotated Ingress asks for from pebble, the HTTP-01 answer goes through a ConfigMap
 * both watch, and pebble validates against the other instance (the non-leader), which answers it; the
 * certificate lands in the Ingress's TLS Secret and both instances serve it.
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
    otherPorts = { http: await freePort(), https: await freePort() };
    // Pebble validates HTTP-01 on the second instance's port: the one that does not lead.
    pebble = await startPebble(dir, otherPorts.http, otherPorts.https);
    api = new FakeKubeApi();
    await api.start();
    api.apply('ingressclasses', ingressClass('portico'));
    api.apply('services', service('site'));
    api.apply(
      'endpointslices',
      endpointSlice('site-1', 'site', [{ address: '127.0.0.1' }], [{ name: 'http', port: backend.port }]),
    );
    api.apply(
      'ingresses',
      ingress('site', {
        host: 'acme-k8s.test',
        paths: [{ service: 'site', port: 80 }],
        tls: [{ hosts: ['acme-k8s.test'], secretName: 'site-tls' }],
        annotations: { 'portico.dev/acme': 'true' },
      }),
    );
    const acme = (http: string, https: string) => `listeners:
  - { name: http, address: 127.0.0.1, port: ${http} }
  - { name: https, address: 127.0.0.1, port: ${https}, protocol: https, tls: {} }
admin: { address: 127.0.0.1, port: 0 }
acme:
  directoryUrl: ${pebble.directoryUrl}
  caFile: ${pebble.caFile}
  checkIntervalMs: 1000
  retryMinMs: 1000
`;
    // Two instances of one process: each its own identity for the Lease, as two pods would have.
    const election = (pod: string) => ({
      leaderElection: true,
      electionNamespace: 'portico-system',
      env: { ...process.env, POD_NAME: pod },
    });
    leader = await startKubeHarness(() => {}, election('edge-a'), api, acme('0', '0'));
    await until(() => leader.portico.kubernetes?.leading === true, 10_000, 'the first instance leads');
    other = await startKubeHarness(
      () => {},
      election('edge-b'),
      api,
      acme(String(otherPorts.http), String(otherPorts.https)),
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

  it('the certificate lands in the Ingress Secret and both instances serve it', async () => {
    assert.equal(other.portico.kubernetes?.leading, false, 'the second instance does not lead');
    await until(
      () => api.get('secrets', 'default', 'site-tls') !== undefined,
      30_000,
      'the TLS Secret written',
    );
    const secret = api.get('secrets', 'default', 'site-tls') as unknown as {
      type: string;
      data: Record<string, string>;
    };
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.match(Buffer.from(secret.data['tls.crt']!, 'base64').toString(), /BEGIN CERTIFICATE/);
    for (const port of [leader.httpsPort(), otherPorts.https]) {
      await until(
        async () => /Pebble/.test(String((await served(port, 'acme-k8s.test')).cert.issuer?.CN)),
        10_000,
        `the certificate served on ${port}`,
      );
      const { authorized } = await served(port, 'acme-k8s.test', pebble.root);
      assert.ok(authorized, "the chain verifies against pebble's root");
    }
    const ordered = (logs: Record<string, unknown>[]) =>
      logs.filter((l) => String(l['msg']).startsWith('ACME: ordering')).length;
    assert.equal(
      ordered(leader.logs),
      1,
      `the leader ordered once: ${leader.logs
        .map((l) => l['msg'])
        .filter((m) => String(m).startsWith('ACME'))
        .join(' | ')}`,
    );
    assert.equal(ordered(other.logs), 0, 'the other instance ordered nothing');
    // The answer went through the ConfigMap, which is empty again.
    const challenges = api.get('configmaps', 'portico-system', 'portico-acme-challenges') as unknown as {
      data?: Record<string, string>;
    };
    assert.deepEqual(challenges.data ?? {}, {});
  });
});
