import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ClusterState,
  type EndpointSlice,
  type Ingress,
  type IngressClass,
  keyOf,
  readIngressAnnotations,
  type Secret,
  type Service,
  type TranslateOptions,
  translateCluster,
} from '@portico/discovery';
import { endpointSlice, ingress, ingressClass, service, tlsSecret } from './helpers/kube-fixtures.ts';

const OPTIONS: TranslateOptions = {
  controller: 'portico.dev/ingress-controller',
  ingressClass: 'portico',
  allowExternalName: false,
  httpsAvailable: true,
};

type Fixture = {
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  [field: string]: unknown;
};

/** cluster builds a ClusterState from API-shaped objects (creation times in the order given). */
function cluster(objects: {
  ingresses?: Fixture[];
  classes?: Fixture[];
  services?: Fixture[];
  slices?: Fixture[];
  secrets?: Fixture[];
}): ClusterState {
  let t = 0;
  const map = <T>(list: Fixture[] = []) =>
    new Map(
      list.map((o) => {
        const stamped = {
          ...o,
          metadata: {
            creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(),
            ...o.metadata,
          },
        };
        return [keyOf(stamped), stamped as unknown as T];
      }),
    );
  return {
    ingresses: map<Ingress>(objects.ingresses),
    ingressClasses: map<IngressClass>(objects.classes ?? [ingressClass('portico')]),
    services: map<Service>(objects.services),
    endpointSlices: map<EndpointSlice>(objects.slices),
    secrets: map<Secret>(objects.secrets),
  };
}

const web = service('web', {
  ports: [
    { name: 'http', port: 80, targetPort: 8080 },
    { name: 'metrics', port: 9090 },
  ],
});
const webSlice = endpointSlice(
  'web-1',
  'web',
  [{ address: '10.0.0.1' }, { address: '10.0.0.2', ready: false, serving: true, terminating: true }],
  [
    { name: 'http', port: 8080 },
    { name: 'metrics', port: 9100 },
  ],
);
const route = (name: string, extra: Parameters<typeof ingress>[1] = {}) =>
  ingress(name, { host: `${name}.example`, paths: [{ service: 'web', port: 80 }], ...extra });

describe('translateCluster: Ingress v1 objects to Portico config', () => {
  it("serves ingressClassName naming an IngressClass of Portico's controller, and nothing else", () => {
    const t = translateCluster(
      cluster({
        classes: [ingressClass('portico'), ingressClass('nginx', { controller: 'k8s.io/ingress-nginx' })],
        ingresses: [
          route('ours'),
          route('nginx', { className: 'nginx' }),
          route('ghost', { className: 'missing' }),
        ],
        services: [web],
      }),
      OPTIONS,
    );
    assert.deepEqual(
      t.routes.map((r) => r.host),
      ['ours.example'],
    );
  });

  it('honours the legacy kubernetes.io/ingress.class annotation', () => {
    const legacy = (name: string, cls: string) => ({
      ...route(name, { className: null }),
      metadata: { name, namespace: 'default', annotations: { 'kubernetes.io/ingress.class': cls } },
    });
    const t = translateCluster(
      cluster({ ingresses: [legacy('a', 'portico'), legacy('b', 'nginx')], services: [web] }),
      OPTIONS,
    );
    assert.deepEqual(
      t.routes.map((r) => r.host),
      ['a.example'],
    );
  });

  it("serves class-less Ingresses only when Portico's IngressClass is the default class", () => {
    const none = route('none', { className: null });
    assert.equal(translateCluster(cluster({ ingresses: [none], services: [web] }), OPTIONS).routes.length, 0);
    const t = translateCluster(
      cluster({
        ingresses: [none],
        services: [web],
        classes: [ingressClass('portico', { isDefault: true })],
      }),
      OPTIONS,
    );
    assert.deepEqual(
      t.routes.map((r) => r.host),
      ['none.example'],
    );
  });

  it('resolves a Service port by number and by name to the EndpointSlice port (the pod targetPort)', () => {
    const t = translateCluster(
      cluster({
        ingresses: [
          ingress('multi', {
            host: 'multi.example',
            paths: [
              { path: '/', service: 'web', port: 80 },
              { path: '/metrics', pathType: 'Exact', service: 'web', port: 'metrics' },
            ],
          }),
        ],
        services: [web],
        slices: [webSlice],
      }),
      OPTIONS,
    );
    const byName = new Map(t.services.map((s) => [s.name, s]));
    assert.deepEqual(
      byName.get('default/web:80')?.endpoints?.map((e) => `${e.address}:${e.port}`),
      ['10.0.0.1:8080', '10.0.0.2:8080'],
    );
    assert.deepEqual(
      byName.get('default/web:metrics')?.endpoints?.map((e) => `${e.address}:${e.port}`),
      ['10.0.0.1:9100', '10.0.0.2:9100'],
    );
    assert.deepEqual(
      t.routes[0]!.paths!.map((p) => [p.path, p.type, p.service]),
      [
        ['/', 'Prefix', 'default/web:80'],
        ['/metrics', 'Exact', 'default/web:metrics'],
      ],
    );
  });

  it('maps EndpointSlice conditions, absent ones as the API says (ready and serving true, terminating false)', () => {
    const slice = {
      metadata: { name: 'web-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.0.1.1'] },
        { addresses: ['10.0.1.2'], conditions: { ready: false } },
        { addresses: ['10.0.1.3'], conditions: { ready: false, serving: true, terminating: true } },
      ],
      ports: [{ name: 'http', port: 8080 }],
    };
    const t = translateCluster(
      cluster({ ingresses: [route('c')], services: [web], slices: [slice] }),
      OPTIONS,
    );
    assert.deepEqual(
      t.services[0]!.endpoints!.map((e) => [e.address, e.ready, e.serving, e.terminating]),
      [
        ['10.0.1.1', true, true, false],
        ['10.0.1.2', false, false, false],
        ['10.0.1.3', false, true, true],
      ],
    );
  });

  it('keeps an endpoint listed in two slices once, by its readiest entry', () => {
    const s1 = endpointSlice(
      'web-1',
      'web',
      [{ address: '10.0.0.9', ready: false }],
      [{ name: 'http', port: 8080 }],
    );
    const s2 = endpointSlice(
      'web-2',
      'web',
      [{ address: '10.0.0.9', ready: true }],
      [{ name: 'http', port: 8080 }],
    );
    const t = translateCluster(
      cluster({ ingresses: [route('d')], services: [web], slices: [s1, s2] }),
      OPTIONS,
    );
    assert.deepEqual(
      t.services[0]!.endpoints!.map((e) => [e.address, e.ready]),
      [['10.0.0.9', true]],
    );
  });

  it('reports a missing Service, a missing port and a resource backend on their Ingress only', () => {
    const t = translateCluster(
      cluster({
        ingresses: [
          route('good'),
          ingress('nosvc', { host: 'nosvc.example', paths: [{ service: 'gone', port: 80 }] }),
          ingress('noport', { host: 'noport.example', paths: [{ service: 'web', port: 81 }] }),
          {
            ...route('res'),
            spec: {
              ingressClassName: 'portico',
              rules: [
                {
                  host: 'res.example',
                  http: {
                    paths: [
                      {
                        path: '/',
                        pathType: 'Prefix',
                        backend: { resource: { kind: 'StorageBucket', name: 'b' } },
                      },
                    ],
                  },
                },
              ],
            },
          },
        ],
        services: [web],
        slices: [webSlice],
      }),
      OPTIONS,
    );
    assert.deepEqual(
      t.issues.map((i) => [i.object.name, i.code, i.field]),
      [
        ['nosvc', 'PORTICO_KUBE_SERVICE_MISSING', 'spec.rules[0].http.paths[0].backend.service'],
        ['noport', 'PORTICO_KUBE_SERVICE_PORT_MISSING', 'spec.rules[0].http.paths[0].backend.service'],
        ['res', 'PORTICO_KUBE_BACKEND_UNSUPPORTED', 'spec.rules[0].http.paths[0].backend'],
      ],
    );
    // The broken backends are routes to services with no endpoints (503), the good one has its pods.
    assert.deepEqual(
      t.routes.map((r) => r.host),
      ['good.example', 'nosvc.example', 'noport.example'],
    );
    assert.equal(t.services.find((s) => s.name === 'default/gone:80')?.endpoints?.length, 0);
  });

  it('turns sessionAffinity ClientIP into client-ip affinity with timeoutSeconds (default 10800)', () => {
    const sticky = service('sticky', { clientIpTimeoutSeconds: 60 });
    const stickyDefault = {
      ...service('sticky2'),
      spec: { ...service('sticky2').spec, sessionAffinity: 'ClientIP' },
    };
    const t = translateCluster(
      cluster({
        ingresses: [
          ingress('s', {
            host: 's.example',
            paths: [
              { path: '/a', service: 'sticky', port: 80 },
              { path: '/b', service: 'sticky2', port: 80 },
            ],
          }),
        ],
        services: [sticky, stickyDefault],
      }),
      OPTIONS,
    );
    assert.deepEqual(
      t.services.map((s) => s.affinity),
      [
        { type: 'client-ip', ttlSeconds: 60 },
        { type: 'client-ip', ttlSeconds: 10_800 },
      ],
    );
  });

  it('serves ExternalName Services only when allowed', () => {
    const ext = service('ext', {
      type: 'ExternalName',
      externalName: 'api.example.net',
      ports: [{ port: 443 }],
    });
    const objects = cluster({
      ingresses: [ingress('e', { host: 'e.example', paths: [{ service: 'ext', port: 443 }] })],
      services: [ext],
    });
    const off = translateCluster(objects, OPTIONS);
    assert.equal(off.issues[0]?.code, 'PORTICO_KUBE_EXTERNAL_NAME_DISABLED');
    assert.deepEqual(off.services[0]!.endpoints, []);
    const on = translateCluster(objects, { ...OPTIONS, allowExternalName: true });
    assert.deepEqual(on.issues, []);
    assert.deepEqual(on.services[0]!.endpoints, [{ address: 'api.example.net', port: 443 }]);
  });

  it("makes the oldest Ingress's defaultBackend the default service and keeps older rules first", () => {
    const t = translateCluster(
      cluster({
        ingresses: [
          ingress('first', {
            defaultBackend: { service: 'web', port: 80 },
            host: 'same.example',
            paths: [{ service: 'web', port: 80 }],
          }),
          ingress('second', {
            defaultBackend: { service: 'web', port: 'metrics' },
            host: 'same.example',
            paths: [{ service: 'web', port: 'metrics' }],
          }),
        ],
        services: [web],
      }),
      OPTIONS,
    );
    assert.equal(t.defaultService, 'default/web:80');
    assert.deepEqual(t.routeOrigins, ['default/first', 'default/second']);
  });

  it('turns tls entries into certificates from Secrets, serving those hosts over HTTP too unless sslRedirect or the annotation asks', () => {
    const secret = tlsSecret('site-tls', 'CERT PEM', 'KEY PEM');
    const objects = cluster({
      ingresses: [
        ingress('site', {
          rules: [
            { host: 'a.example', paths: [{ service: 'web', port: 80 }] },
            { host: 'plain.example', paths: [{ service: 'web', port: 80 }] },
          ],
          tls: [
            { hosts: ['a.example'], secretName: 'site-tls' },
            { hosts: ['b.example'], secretName: 'nope' },
          ],
        }),
        ingress('site2', {
          host: 'c.example',
          paths: [{ service: 'web', port: 80 }],
          tls: [{ hosts: ['c.example'], secretName: 'site-tls' }],
        }),
        ingress('optout', {
          host: 'o.example',
          paths: [{ service: 'web', port: 80 }],
          tls: [{ hosts: ['o.example'], secretName: 'site-tls' }],
          annotations: { 'portico.dev/ssl-redirect': 'false' },
        }),
        ingress('optin', {
          host: 'i.example',
          paths: [{ service: 'web', port: 80 }],
          annotations: { 'portico.dev/ssl-redirect': 'true' },
        }),
      ],
      services: [web],
      secrets: [secret, { metadata: { name: 'opaque' }, type: 'Opaque', data: {} } as Fixture],
    });
    const t = translateCluster(objects, { ...OPTIONS, sslRedirect: true });
    assert.deepEqual(t.certificates, [
      {
        name: 'default/site-tls',
        cert: 'CERT PEM',
        key: 'KEY PEM',
        hosts: ['a.example', 'c.example', 'o.example'],
      },
    ]);
    assert.deepEqual(
      t.routes.map((r) => [r.host, r.httpsRedirect ?? false]),
      [
        ['a.example', true],
        ['plain.example', false],
        ['c.example', true],
        ['o.example', false],
        ['i.example', true],
      ],
    );
    // By default (as the Ingress conformance suite expects) hosts with TLS are served over HTTP too.
    assert.deepEqual(
      translateCluster(objects, OPTIONS).routes.map((r) => [r.host, r.httpsRedirect ?? false]),
      [
        ['a.example', false],
        ['plain.example', false],
        ['c.example', false],
        ['o.example', false],
        ['i.example', true],
      ],
    );
    assert.deepEqual(
      t.issues.map((i) => [i.code, i.field]),
      [['PORTICO_KUBE_SECRET_MISSING', 'spec.tls[1].secretName']],
    );
    // Without an https listener nothing redirects.
    const noHttps = translateCluster(
      cluster({
        ingresses: [
          ingress('x', {
            host: 'a.example',
            paths: [{ service: 'web', port: 80 }],
            tls: [{ hosts: ['a.example'], secretName: 'site-tls' }],
          }),
        ],
        services: [web],
        secrets: [secret],
      }),
      { ...OPTIONS, httpsAvailable: false, sslRedirect: true },
    );
    assert.equal(noHttps.routes[0]!.httpsRedirect, undefined);
  });

  it('leaves out only the path that does not start with "/", with an issue naming it', () => {
    const t = translateCluster(
      cluster({
        ingresses: [
          ingress('mixed', {
            host: 'm.example',
            paths: [
              { path: 'api', pathType: 'Prefix', service: 'web', port: 80 },
              { path: '/ok', pathType: 'Prefix', service: 'web', port: 80 },
            ],
          }),
        ],
        services: [web],
      }),
      OPTIONS,
    );
    assert.deepEqual(
      t.routes.map((r) => r.paths?.map((p) => p.path)),
      [['/ok']],
    );
    assert.deepEqual(
      t.issues.map((i) => [i.code, i.field]),
      [['PORTICO_KUBE_INVALID_OBJECT', 'spec.rules[0].http.paths[0].path']],
    );
  });

  it('applies portico.dev annotations to the route and to a service of that Ingress alone', () => {
    const t = translateCluster(
      cluster({
        ingresses: [
          route('plain'),
          route('tuned', {
            annotations: {
              'portico.dev/load-balance': 'maglev',
              'portico.dev/hash-key': 'header:x-user',
              'portico.dev/retries': '3',
              'portico.dev/backend-protocol': 'HTTPS',
              'portico.dev/rewrite-target': '/v2',
              'portico.dev/connect-timeout-ms': '250',
              'portico.dev/max-body-bytes': '1024',
              'portico.dev/use-regex': 'true',
              'nginx.ingress.kubernetes.io/whatever': 'not ours: ignored',
            },
          }),
        ],
        services: [web],
      }),
      OPTIONS,
    );
    assert.deepEqual(t.issues, []);
    assert.deepEqual(
      t.services.map((s) => s.name),
      ['default/web:80', 'default/tuned/web:80'],
    );
    const tuned = t.services[1]!;
    assert.equal(tuned.balancer, 'maglev');
    assert.deepEqual(tuned.hashKey, { source: 'header', name: 'x-user' });
    assert.deepEqual(tuned.retries, { attempts: 3 });
    assert.deepEqual(tuned.tls, { verify: false });
    const r = t.routes[1]!;
    assert.equal(r.rewriteTarget, '/v2');
    assert.deepEqual(r.timeouts, { upstreamConnectMs: 250 });
    assert.equal(r.maxBodyBytes, 1024);
    assert.equal(t.services[0]!.balancer, undefined, 'the plain Ingress keeps the defaults');
  });
});

describe('readIngressAnnotations', () => {
  it('the ACME annotations: known values pass, others are reported', () => {
    const good = readIngressAnnotations({
      'portico.dev/acme': 'true',
      'portico.dev/acme-challenge': 'tls-alpn-01',
    });
    assert.deepEqual(good.issues, []);
    const bad = readIngressAnnotations({ 'portico.dev/acme': 'yes', 'portico.dev/acme-challenge': 'dns-01' });
    assert.deepEqual(
      bad.issues.map((i) => [i.code, i.field, i.message]),
      [
        [
          'PORTICO_KUBE_ANNOTATION_INVALID',
          'metadata.annotations["portico.dev/acme"]',
          bad.issues[0]!.message,
        ],
        [
          'PORTICO_KUBE_ANNOTATION_INVALID',
          'metadata.annotations["portico.dev/acme-challenge"]',
          bad.issues[1]!.message,
        ],
      ],
    );
    assert.match(bad.issues[1]!.message, /http-01 or tls-alpn-01/);
  });

  it('reports unknown and invalid portico.dev annotations and ignores their values', () => {
    const s = readIngressAnnotations({
      'portico.dev/load-balnce': 'maglev',
      'portico.dev/retries': '11',
      'portico.dev/hash-key': 'header:',
      'portico.dev/permanent-redirect': 'ftp://x',
      'portico.dev/affinity': 'cookie',
      'portico.dev/affinity-cookie-name': 'sticky',
      'portico.dev/temporal-redirect': 'https://new.example:8443/landing',
    });
    assert.deepEqual(
      s.issues.map((i) => [i.code, i.field]),
      [
        ['PORTICO_KUBE_ANNOTATION_UNKNOWN', 'metadata.annotations["portico.dev/load-balnce"]'],
        ['PORTICO_KUBE_ANNOTATION_INVALID', 'metadata.annotations["portico.dev/retries"]'],
        ['PORTICO_KUBE_ANNOTATION_INVALID', 'metadata.annotations["portico.dev/hash-key"]'],
        ['PORTICO_KUBE_ANNOTATION_INVALID', 'metadata.annotations["portico.dev/permanent-redirect"]'],
      ],
    );
    assert.equal(s.service.retries, undefined);
    assert.deepEqual(s.service.affinity, { type: 'cookie', cookieName: 'sticky' });
    assert.deepEqual(s.route.redirect, {
      scheme: 'https',
      host: 'new.example',
      port: 8443,
      path: '/landing',
      status: 302,
    });
  });

  it("affinity: none turns off a Service's ClientIP affinity", () => {
    const t = translateCluster(
      cluster({
        ingresses: [route('n', { annotations: { 'portico.dev/affinity': 'none' } })],
        services: [service('web', { clientIpTimeoutSeconds: 5 })],
      }),
      OPTIONS,
    );
    assert.equal(t.services[0]!.affinity, undefined);
  });
});
