import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '@portico/config';
import {
  DEFAULT_CONTROLLER,
  DEFAULT_GATEWAY_CONTROLLER,
  type EndpointSlice,
  type Gateway,
  type GatewayClass,
  type HttpRoute,
  type Ingress,
  type IngressClass,
  keyOf,
  type Secret,
  type Service,
  translateCluster,
  translateGateways,
} from '@portico/discovery';
import { parseAllDocuments } from 'yaml';

const DIR = fileURLToPath(new URL('../examples/kubernetes/', import.meta.url));

type Manifest = { kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return name.endsWith('.yaml') ? [path] : [];
  });
}

const manifests: (Manifest & { file: string })[] = yamlFiles(DIR)
  .filter((file) => !file.endsWith('kustomization.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
      assert.deepEqual(doc.errors, [], `${file} parses`);
      return { ...(doc.toJS() as Manifest), file };
    }),
  );
const find = (kind: string, name: string, fileHint = '') =>
  manifests.find((m) => m.kind === kind && m.metadata.name === name && m.file.includes(fileHint))!;

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field below.
type Any = any;

describe('examples/kubernetes: the manifests docs/kubernetes.md walks through', () => {
  it('every kustomization names files that exist', () => {
    for (const file of yamlFiles(DIR).filter((f) => f.endsWith('kustomization.yaml'))) {
      const doc = parseAllDocuments(readFileSync(file, 'utf8'))[0]!.toJS() as { resources: string[] };
      for (const resource of doc.resources)
        assert.ok(existsSync(join(dirname(file), resource)), `${file}: ${resource}`);
    }
  });

  it('the DaemonSet runs on tainted edge nodes on the host network, probed on the loopback admin API', () => {
    const ds = find('DaemonSet', 'portico') as Any;
    const pod = ds.spec.template.spec;
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
    assert.ok(Object.keys(pod.nodeSelector).length > 0);
    assert.equal(pod.tolerations[0].effect, 'NoSchedule');
    const c = pod.containers[0];
    assert.ok(c.args.includes('--kubernetes'));
    assert.deepEqual(
      c.ports.map((p: Any) => p.hostPort),
      [80, 443],
    );
    assert.deepEqual(
      [c.livenessProbe.httpGet, c.readinessProbe.httpGet].map((g: Any) => `${g.host}:${g.port}${g.path}`),
      ['127.0.0.1:9901/healthz', '127.0.0.1:9901/readyz'],
    );
    assert.ok(c.resources.requests.cpu && c.resources.limits.memory);
    assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
    assert.equal(find('PodDisruptionBudget', 'portico', 'pdb.yaml') !== undefined, true);
  });

  it('the base config in the ConfigMap is valid and puts the admin API where the probes look', () => {
    const cm = find('ConfigMap', 'portico') as Any;
    const document = parseAllDocuments(cm.data['portico.yaml'])[0]!.toJS();
    const result = validateConfig(document);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
    assert.deepEqual(result.config.admin, {
      address: '127.0.0.1',
      port: 9901,
      allowRemote: false,
      historyIntervalMs: 5_000,
    });
    assert.deepEqual(
      result.config.listeners.map((l) => `${l.protocol}:${l.port}`),
      ['http:80', 'https:443'],
    );
  });

  it('RBAC grants least privilege: reads, Ingress status, Events, and the Lease in its own namespace', () => {
    const cluster = find('ClusterRole', 'portico') as Any;
    const role = find('Role', 'portico') as Any;
    const rules = [...cluster.rules, ...role.rules];
    for (const rule of rules) {
      assert.ok(!rule.verbs.includes('*') && !rule.resources.includes('*'), 'no wildcards');
      assert.ok(!rule.verbs.includes('delete') && !rule.verbs.includes('deletecollection'), 'never deletes');
    }
    const verbsOf = (list: Any[], resource: string) =>
      list
        .filter((r) => r.resources.includes(resource))
        .flatMap((r) => r.verbs)
        .sort();
    assert.deepEqual(verbsOf(cluster.rules, 'secrets'), ['get', 'list', 'watch']);
    assert.deepEqual(verbsOf(cluster.rules, 'ingresses'), ['get', 'list', 'watch']);
    assert.deepEqual(verbsOf(cluster.rules, 'ingresses/status'), ['patch', 'update']);
    assert.deepEqual(verbsOf(cluster.rules, 'leases'), [], 'the Lease is not cluster-wide');
    assert.deepEqual(verbsOf(role.rules, 'leases'), ['create', 'get', 'update']);
    assert.equal(role.metadata.namespace, 'portico-system');
  });

  it('RBAC lets Portico read the Gateway API and write only its status', () => {
    const cluster = find('ClusterRole', 'portico') as Any;
    const verbsOf = (resource: string) =>
      cluster.rules
        .filter((r: Any) => r.resources.includes(resource))
        .flatMap((r: Any) => r.verbs)
        .sort();
    for (const kind of [
      'gatewayclasses',
      'gateways',
      'httproutes',
      'grpcroutes',
      'tlsroutes',
      'referencegrants',
    ])
      assert.deepEqual(verbsOf(kind), ['get', 'list', 'watch'], kind);
    for (const kind of ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tlsroutes'])
      assert.deepEqual(verbsOf(`${kind}/status`), ['patch', 'update'], `${kind}/status`);
    assert.deepEqual(verbsOf('referencegrants/status'), []);
    assert.deepEqual(verbsOf('namespaces'), ['get', 'list', 'watch']);
  });

  it('the Gateway API example translates to routes on both listeners, with its certificate and a redirect', () => {
    const byKey = <T extends { metadata: { name: string; namespace?: string } }>(list: T[]) =>
      new Map(list.map((o) => [keyOf(o), o]));
    const store = <T extends { metadata: { name: string; namespace?: string } }>(list: T[]) => byKey(list);
    const service = find('Service', 'echo') as unknown as Service;
    const secret = find('Secret', 'echo-tls') as unknown as Secret;
    const t = translateGateways(
      {
        gatewayClasses: store([find('GatewayClass', 'portico') as unknown as GatewayClass]),
        gateways: store([find('Gateway', 'edge') as unknown as Gateway]),
        httpRoutes: store([find('HTTPRoute', 'echo') as unknown as HttpRoute]),
        grpcRoutes: store([]),
        tlsRoutes: store([]),
        referenceGrants: store([]),
        namespaces: store([]),
      },
      {
        ingresses: store([]),
        ingressClasses: store([]),
        services: store([service]),
        endpointSlices: store([]),
        secrets: store([secret]),
      },
      {
        controllerName: DEFAULT_GATEWAY_CONTROLLER,
        listeners: [
          { name: 'http', port: 80, protocol: 'http' },
          { name: 'https', port: 443, protocol: 'https' },
        ],
        allowExternalName: false,
      },
    );
    assert.deepEqual(t.issues, []);
    assert.deepEqual(
      t.routes.map((r) => [r.host, r.listeners]),
      [['echo.example.com', ['http', 'https']]],
    );
    assert.deepEqual(t.routes[0]!.paths?.[0]?.filters, [{ redirect: { prefix: '/hostname', status: 301 } }]);
    assert.deepEqual(
      t.certificates.map((c) => [c.name, c.hosts]),
      [['gateway:demo/echo-tls', ['*.example.com']]],
    );
    const document = {
      listeners: [
        { name: 'http', port: 0 },
        { name: 'https', port: 0, protocol: 'https', tls: {} },
      ],
      routes: t.routes,
      services: t.services,
      certificates: t.certificates,
    };
    const result = validateConfig(document);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
  });

  it("the IngressClass names Portico's controller", () => {
    assert.equal((find('IngressClass', 'portico') as Any).spec.controller, DEFAULT_CONTROLLER);
  });

  it("the sample app's Ingress, Service and TLS Secret translate to a route with its certificate", () => {
    const ingress = find('Ingress', 'echo') as unknown as Ingress;
    const service = find('Service', 'echo') as unknown as Service;
    const secret = find('Secret', 'echo-tls') as unknown as Secret;
    const slice: EndpointSlice = {
      metadata: { name: 'echo-1', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'echo' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 8080 }],
    };
    const cls = find('IngressClass', 'portico') as unknown as IngressClass;
    const byKey = <T extends { metadata: { name: string; namespace?: string } }>(list: T[]) =>
      new Map(list.map((o) => [keyOf(o), o]));
    const t = translateCluster(
      {
        ingresses: byKey([ingress]),
        ingressClasses: byKey([cls]),
        services: byKey([service]),
        endpointSlices: byKey([slice]),
        secrets: byKey([secret]),
      },
      {
        controller: DEFAULT_CONTROLLER,
        ingressClass: 'portico',
        allowExternalName: false,
        httpsAvailable: true,
      },
    );
    assert.deepEqual(t.issues, []);
    assert.equal(t.routes[0]!.host, 'echo.example.com');
    assert.deepEqual(t.services[0]!.endpoints, [
      { address: '10.1.0.5', port: 8080, ready: true, serving: true, terminating: false },
    ]);
    const cert = new X509Certificate(t.certificates[0]!.cert!);
    assert.match(cert.subjectAltName ?? '', /echo\.example\.com/);
    assert.ok(new Date(cert.validTo).getTime() > Date.now() + 365 * 86_400_000, 'valid for years');
  });
});
