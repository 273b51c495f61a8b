import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { intersectHostnames, parseDuration, translateGateways } from '@portico/discovery';

/** ObjectStore is what translation reads: objects by `namespace/name`. */
interface ObjectStore<T> {
  get(key: string): T | undefined;
  values(): Iterable<T>;
}

/** store makes an ObjectStore of objects keyed `namespace/name` (or `name`). */
function store<T extends { metadata: { name: string; namespace?: string } }>(items: T[]): ObjectStore<T> {
  const map = new Map(
    items.map((o) => [
      o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name,
      o,
    ]),
  );
  return { get: (k) => map.get(k), values: () => map.values() };
}

const CONTROLLER = 'portico.dev/gateway-controller';
const LISTENERS = [
  { name: 'http', port: 80, protocol: 'http' },
  { name: 'https', port: 443, protocol: 'https' },
];

function translate(objects: { gateways?: object[]; httpRoutes?: object[]; services?: object[] }) {
  const cluster = {
    ingresses: store([]),
    ingressClasses: store([]),
    services: store((objects.services ?? []) as never[]),
    endpointSlices: store([]),
    secrets: store([]),
  };
  return translateGateways(
    {
      gatewayClasses: store([{ metadata: { name: 'portico' }, spec: { controllerName: CONTROLLER } }]),
      gateways: store((objects.gateways ?? []) as never[]),
      httpRoutes: store((objects.httpRoutes ?? []) as never[]),
      grpcRoutes: store([]),
      tlsRoutes: store([]),
      referenceGrants: store([]),
      namespaces: store([]),
    },
    cluster,
    { controllerName: CONTROLLER, listeners: LISTENERS, allowExternalName: false },
  );
}

describe('Gateway API translation', () => {
  it('intersects route and listener hostnames as the spec says', () => {
    const cases: [string | undefined, string | undefined, string | undefined | null][] = [
      [undefined, undefined, undefined],
      ['a.example.com', undefined, 'a.example.com'],
      [undefined, '*.example.com', '*.example.com'],
      ['a.example.com', 'a.example.com', 'a.example.com'],
      ['a.example.com', 'b.example.com', null],
      ['a.b.example.com', '*.example.com', 'a.b.example.com'],
      ['example.com', '*.example.com', null],
      ['*.example.com', 'a.example.com', 'a.example.com'],
      ['*.a.example.com', '*.example.com', '*.a.example.com'],
      ['*.example.com', '*.a.example.com', '*.a.example.com'],
      ['*.example.com', '*.example.org', null],
    ];
    for (const [route, listener, wanted] of cases)
      assert.equal(intersectHostnames(route, listener), wanted, `${route} x ${listener}`);
  });

  it('an HTTPS listener asking for an ACME certificate waits for it instead of needing certificateRefs', () => {
    const listener = (name: string, extra: object) => ({ name, port: 443, protocol: 'HTTPS', ...extra });
    const out = translate({
      gateways: [
        {
          metadata: { name: 'edge', namespace: 'web', generation: 1 },
          spec: {
            gatewayClassName: 'portico',
            listeners: [
              listener('acme', {
                hostname: 'shop.example',
                tls: { options: { 'portico.dev/acme': 'true' } },
              }),
              listener('wild', { hostname: '*.example', tls: { options: { 'portico.dev/acme': 'true' } } }),
              listener('plain', { hostname: 'plain.example' }),
            ],
          },
        },
      ],
    });
    const conditions = (name: string) =>
      out.status.gateways[0]!.listeners.find((l) => l.name === name)!.conditions.find(
        (c) => c.type === 'ResolvedRefs',
      );
    assert.equal(conditions('acme')?.status, 'False');
    assert.match(
      String(conditions('acme')?.message),
      /waiting for the ACME certificate \(Secret web\/edge-acme-acme\)/,
    );
    // A wildcard cannot be proven by HTTP-01 or TLS-ALPN-01: it still needs certificateRefs, and says so.
    assert.match(
      String(conditions('wild')?.message),
      /needs tls\.certificateRefs, or tls\.options portico\.dev\/acme/,
    );
    assert.match(String(conditions('plain')?.message), /needs tls\.certificateRefs/);
  });

  it('reads Gateway API durations and refuses anything else', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('0s'), 0);
    for (const bad of ['', '10', '1d', '1.5s', 'ten seconds', '1s1s1s1s1s', '-1s'])
      assert.equal(parseDuration(bad), undefined, bad);
  });

  it('survives objects with missing or wrong-typed fields, reporting instead of throwing', () => {
    const out = translate({
      gateways: [
        { metadata: { name: 'no-spec', namespace: 'ns' } },
        { metadata: { name: 'empty', namespace: 'ns' }, spec: { gatewayClassName: 'portico' } },
        {
          metadata: { name: 'odd', namespace: 'ns' },
          spec: { gatewayClassName: 'portico', listeners: [{ name: 'x' }, { name: 'y', protocol: 'HTTP' }] },
        },
      ],
      httpRoutes: [
        { metadata: { name: 'no-spec', namespace: 'ns' } },
        { metadata: { name: 'no-parents', namespace: 'ns' }, spec: { rules: [{}] } },
        {
          metadata: { name: 'broken', namespace: 'ns' },
          spec: {
            parentRefs: [{ name: 'odd' }, { name: 'missing' }, { name: 'odd', kind: 'Service', group: '' }],
            rules: [
              { backendRefs: [{}], matches: [{ path: { type: 'Fancy', value: '/x' } }] },
              { filters: [{}] },
            ],
          },
        },
      ],
    });
    assert.equal(out.routes.length, 0);
    const odd = out.status.gateways.find((g) => g.object.metadata.name === 'odd')!;
    assert.deepEqual(
      odd.listeners.map((l) => l.conditions.find((c) => c.type === 'Accepted')?.reason),
      ['UnsupportedProtocol', 'PortUnavailable'],
    );
    const broken = out.status.routes.find((r) => r.object.metadata.name === 'broken')!;
    assert.equal(broken.parents.length, 1, 'only the Gateway of Portico gets a parent entry');
    assert.equal(broken.parents[0]!.conditions.find((c) => c.type === 'Accepted')?.status, 'False');
    assert.ok(out.issues.some((i) => i.code === 'PORTICO_KUBE_GATEWAY_LISTENER_INVALID'));
  });

  it('turns a listener wildcard into a suffix route host kept to the listeners serving it', () => {
    const out = translate({
      gateways: [
        {
          metadata: { name: 'gw', namespace: 'ns' },
          spec: {
            gatewayClassName: 'portico',
            listeners: [{ name: 'web', port: 80, protocol: 'HTTP', hostname: '*.example.com' }],
          },
        },
      ],
      services: [{ metadata: { name: 'svc', namespace: 'ns' }, spec: { ports: [{ port: 8080 }] } }],
      httpRoutes: [
        {
          metadata: { name: 'r', namespace: 'ns' },
          spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'svc', port: 8080 }] }] },
        },
      ],
    });
    assert.equal(out.routes.length, 1);
    assert.equal(out.routes[0]!.host, '**.example.com');
    assert.deepEqual(out.routes[0]!.listeners, ['http']);
    assert.deepEqual(out.routes[0]!.paths?.[0]?.backends, [{ service: 'gateway:ns/svc:8080', weight: 1 }]);
    assert.deepEqual(out.routeOrigins, ['HTTPRoute:ns/r']);
  });
});
