import { tlsSecret } from '../../../discovery/test/helpers/kube-fixtures.ts';
import { makeCert } from '../../../proxy/test/helpers/tls-certs.ts';
import {
  APP,
  type Applied,
  gateway,
  httpListener,
  httpRoute,
  INFRA,
  referenceGrant,
  WEB,
} from './gateway-infra.ts';

/**
 * Cases after the upstream Gateway API conformance suite (kubernetes-sigs/gateway-api
 * `conformance/tests`, the HTTPRoute and Gateway tests named in `upstream`), written here as data: the
 * objects applied, requests with what must come back, and route status. docs/gateway-api-conformance.yaml
 * lists the upstream tests these cover and those Portico does not.
 */

/** Req is a request through Portico's HTTP listener. */
export interface Req {
  readonly path: string;
  readonly host?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** tls sends it over Portico's HTTPS listener with SNI `host`. */
  readonly tls?: boolean;
}

/** Expect is what a request must get: a backend (which pod), or a status; what the backend received. */
export interface Expect {
  readonly backend?: string;
  readonly status?: number;
  /** path is the path (and query) the backend received. */
  readonly path?: string;
  /** host is the Host the backend received. */
  readonly host?: string;
  readonly requestHeaders?: Record<string, string>;
  readonly absentRequestHeaders?: readonly string[];
  readonly responseHeaders?: Record<string, string>;
  readonly absentResponseHeaders?: readonly string[];
  /** certificateCn is the subject CN of the certificate served (with `tls`). */
  readonly certificateCn?: string;
  /** redirect: the Location's parts (port '' means none). */
  readonly redirect?: { scheme?: string; host?: string; port?: string; path?: string };
}

/** RouteStatusExpect is a route's parent status for one Gateway: [status, reason] of each condition. */
export interface RouteStatusExpect {
  readonly route: string;
  readonly namespace?: string;
  readonly kind?: 'httproutes' | 'grpcroutes';
  readonly gateway: string;
  readonly accepted?: readonly [string, string];
  readonly resolvedRefs?: readonly [string, string];
}

type Cond = readonly [string, string];

/** GatewayStatusExpect is a Gateway's conditions and, per listener, its conditions, kinds and routes. */
export interface GatewayStatusExpect {
  readonly gateway: string;
  readonly accepted?: Cond;
  readonly programmed?: Cond;
  readonly listeners?: Record<
    string,
    {
      readonly attachedRoutes?: number;
      readonly accepted?: Cond;
      readonly resolvedRefs?: Cond;
      readonly programmed?: Cond;
      readonly supportedKinds?: readonly string[];
    }
  >;
}

export interface ConformanceCase {
  /** upstream is the conformance test's ShortName. */
  readonly upstream: string;
  readonly objects: readonly Applied[];
  readonly requests: readonly [Req, Expect][];
  readonly routeStatus?: readonly RouteStatusExpect[];
  readonly gatewayStatus?: readonly GatewayStatusExpect[];
}

const SECURE = makeCert(['secure.example']);
const OTHER = makeCert(['other.example']);
/** httpsListener is a Gateway listener on port 443 terminating TLS with these certificateRefs. */
const httpsListener = (name: string, hostname: string | undefined, certificateRefs: object[]) => ({
  name,
  port: 443,
  protocol: 'HTTPS',
  ...(hostname === undefined ? {} : { hostname }),
  allowedRoutes: { namespaces: { from: 'Same' } },
  tls: { certificateRefs },
});
const secret = (name: string, namespace: string, cert = SECURE): Applied => ({
  plural: 'secrets',
  object: tlsSecret(name, cert.cert, cert.key, namespace),
});

const V1 = 'infra-backend-v1';
const V2 = 'infra-backend-v2';
const V3 = 'infra-backend-v3';
const backend = (name: string, extra: object = {}) => ({ name, port: 8080, ...extra });
const prefix = (value: string) => ({ path: { type: 'PathPrefix', value } });
const header = (name: string, value: string) => ({ name, value });
const same = { parentRefs: [{ name: 'same-namespace' }] };
const accepted = ['True', 'Accepted'] as const;
const resolved = ['True', 'ResolvedRefs'] as const;

export const CASES: readonly ConformanceCase[] = [
  {
    upstream: 'HTTPRouteSimpleSameNamespace',
    objects: [
      httpRoute('gateway-conformance-infra-test', { ...same, rules: [{ backendRefs: [backend(V1)] }] }),
    ],
    requests: [[{ path: '/' }, { backend: V1 }]],
    routeStatus: [
      {
        route: 'gateway-conformance-infra-test',
        gateway: 'same-namespace',
        accepted,
        resolvedRefs: resolved,
      },
    ],
  },
  {
    upstream: 'HTTPRouteMatching',
    objects: [
      httpRoute('matching', {
        ...same,
        rules: [
          { matches: [prefix('/'), { headers: [header('version', 'one')] }], backendRefs: [backend(V1)] },
          { matches: [prefix('/v2'), { headers: [header('version', 'two')] }], backendRefs: [backend(V2)] },
        ],
      }),
    ],
    requests: [
      [{ path: '/' }, { backend: V1 }],
      [{ path: '/example' }, { backend: V1 }],
      [{ path: '/', headers: { Version: 'one' } }, { backend: V1 }],
      [{ path: '/v2' }, { backend: V2 }],
      [{ path: '/v2/example' }, { backend: V2 }],
      [{ path: '/', headers: { Version: 'two' } }, { backend: V2 }],
      [{ path: '/v2/' }, { backend: V2 }],
      [{ path: '/v2example' }, { backend: V1 }],
      [{ path: '/foo/v2/example' }, { backend: V1 }],
    ],
  },
  {
    upstream: 'HTTPRouteExactPathMatching',
    objects: [
      httpRoute('exact-matching', {
        ...same,
        rules: [
          { matches: [{ path: { type: 'Exact', value: '/one' } }], backendRefs: [backend(V1)] },
          { matches: [{ path: { type: 'Exact', value: '/two' } }], backendRefs: [backend(V2)] },
        ],
      }),
    ],
    requests: [
      [{ path: '/one' }, { backend: V1 }],
      [{ path: '/two' }, { backend: V2 }],
      [{ path: '/' }, { status: 404 }],
      [{ path: '/one/example' }, { status: 404 }],
      [{ path: '/two/' }, { status: 404 }],
      [{ path: '/Two' }, { status: 404 }],
    ],
  },
  {
    upstream: 'HTTPRouteHeaderMatching',
    objects: [
      httpRoute('header-matching', {
        ...same,
        rules: [
          { matches: [{ headers: [header('version', 'one')] }], backendRefs: [backend(V1)] },
          { matches: [{ headers: [header('version', 'two')] }], backendRefs: [backend(V2)] },
          {
            matches: [{ headers: [header('version', 'two'), header('color', 'orange')] }],
            backendRefs: [backend(V1)],
          },
          {
            matches: [{ headers: [header('color', 'blue')] }, { headers: [header('color', 'green')] }],
            backendRefs: [backend(V1)],
          },
          {
            matches: [{ headers: [header('color', 'red')] }, { headers: [header('color', 'yellow')] }],
            backendRefs: [backend(V2)],
          },
        ],
      }),
    ],
    requests: [
      [{ path: '/', headers: { Version: 'one' } }, { backend: V1 }],
      [{ path: '/', headers: { Version: 'two' } }, { backend: V2 }],
      [{ path: '/', headers: { Version: 'two', Color: 'orange' } }, { backend: V1 }],
      [{ path: '/', headers: { Version: 'two', Color: 'blue' } }, { backend: V2 }],
      [{ path: '/', headers: { Color: 'orange' } }, { status: 404 }],
      [{ path: '/', headers: { 'Some-Other-Header': 'one' } }, { status: 404 }],
      [{ path: '/', headers: { Color: 'blue' } }, { backend: V1 }],
      [{ path: '/', headers: { Color: 'green' } }, { backend: V1 }],
      [{ path: '/', headers: { Color: 'red' } }, { backend: V2 }],
      [{ path: '/', headers: { Color: 'yellow' } }, { backend: V2 }],
      [{ path: '/', headers: { Color: 'purple' } }, { status: 404 }],
    ],
  },
  {
    upstream: 'HTTPRouteQueryParamMatching',
    objects: [
      httpRoute('query-param-matching', {
        ...same,
        rules: [
          { matches: [{ queryParams: [header('animal', 'whale')] }], backendRefs: [backend(V1)] },
          { matches: [{ queryParams: [header('animal', 'dolphin')] }], backendRefs: [backend(V2)] },
          {
            matches: [
              { queryParams: [header('animal', 'dolphin'), header('color', 'blue')] },
              { queryParams: [header('ANIMAL', 'Whale')] },
            ],
            backendRefs: [backend(V3)],
          },
          {
            matches: [{ ...prefix('/path1'), queryParams: [header('animal', 'whale')] }],
            backendRefs: [backend(V1)],
          },
          {
            matches: [{ headers: [header('version', 'one')], queryParams: [header('animal', 'whale')] }],
            backendRefs: [backend(V2)],
          },
          {
            matches: [
              {
                ...prefix('/path2'),
                headers: [header('version', 'two')],
                queryParams: [header('animal', 'whale')],
              },
            ],
            backendRefs: [backend(V3)],
          },
          {
            matches: [
              { ...prefix('/path3'), queryParams: [header('animal', 'shark')] },
              {
                ...prefix('/path4'),
                headers: [header('version', 'three')],
                queryParams: [header('animal', 'kraken')],
              },
            ],
            backendRefs: [backend(V1)],
          },
          { matches: [prefix('/path5')], backendRefs: [backend(V1)] },
          { matches: [{ queryParams: [header('animal', 'hydra')] }], backendRefs: [backend(V2)] },
          { matches: [{ headers: [header('version', 'four')] }], backendRefs: [backend(V3)] },
        ],
      }),
    ],
    requests: [
      [{ path: '/?animal=whale' }, { backend: V1 }],
      [{ path: '/?animal=dolphin' }, { backend: V2 }],
      [{ path: '/?animal=dolphin&color=blue' }, { backend: V3 }],
      [{ path: '/?ANIMAL=Whale' }, { backend: V3 }],
      [{ path: '/?animal=whale&otherparam=irrelevant' }, { backend: V1 }],
      [{ path: '/?animal=dolphin&color=yellow' }, { backend: V2 }],
      [{ path: '/?color=blue' }, { status: 404 }],
      [{ path: '/?animal=dog' }, { status: 404 }],
      [{ path: '/?animal=whaledolphin' }, { status: 404 }],
      [{ path: '/' }, { status: 404 }],
      [{ path: '/path1?animal=whale' }, { backend: V1 }],
      [{ path: '/?animal=whale', headers: { version: 'one' } }, { backend: V2 }],
      [{ path: '/path2?animal=whale', headers: { version: 'two' } }, { backend: V3 }],
      [{ path: '/path3?animal=shark' }, { backend: V1 }],
      [{ path: '/path4?animal=kraken', headers: { version: 'three' } }, { backend: V1 }],
      [{ path: '/?animal=shark' }, { status: 404 }],
      [{ path: '/path4?animal=kraken' }, { status: 404 }],
      [{ path: '/path5?animal=hydra' }, { backend: V1 }],
      [{ path: '/?animal=hydra', headers: { version: 'four' } }, { backend: V3 }],
    ],
  },
  {
    upstream: 'HTTPRouteMethodMatching',
    objects: [
      httpRoute('method-matching', {
        ...same,
        rules: [
          { matches: [{ method: 'POST' }], backendRefs: [backend(V1)] },
          { matches: [{ method: 'GET' }], backendRefs: [backend(V2)] },
          { matches: [{ ...prefix('/path1'), method: 'GET' }], backendRefs: [backend(V1)] },
          { matches: [{ headers: [header('version', 'one')], method: 'PUT' }], backendRefs: [backend(V2)] },
          {
            matches: [{ ...prefix('/path2'), headers: [header('version', 'two')], method: 'POST' }],
            backendRefs: [backend(V3)],
          },
          {
            matches: [
              { ...prefix('/path3'), method: 'PATCH' },
              { ...prefix('/path4'), headers: [header('version', 'three')], method: 'DELETE' },
            ],
            backendRefs: [backend(V1)],
          },
          { matches: [prefix('/path5')], backendRefs: [backend(V1)] },
          { matches: [{ method: 'PATCH' }], backendRefs: [backend(V2)] },
          { matches: [{ headers: [header('version', 'four')] }], backendRefs: [backend(V3)] },
        ],
      }),
    ],
    requests: [
      [{ path: '/', method: 'POST' }, { backend: V1 }],
      [{ path: '/', method: 'GET' }, { backend: V2 }],
      [{ path: '/', method: 'HEAD' }, { status: 404 }],
      [{ path: '/path1', method: 'GET' }, { backend: V1 }],
      [{ path: '/', method: 'PUT', headers: { version: 'one' } }, { backend: V2 }],
      [{ path: '/path2', method: 'POST', headers: { version: 'two' } }, { backend: V3 }],
      [{ path: '/path3', method: 'PATCH' }, { backend: V1 }],
      [{ path: '/path4', method: 'DELETE', headers: { version: 'three' } }, { backend: V1 }],
      [{ path: '/', method: 'PUT' }, { status: 404 }],
      [{ path: '/path4', method: 'DELETE' }, { status: 404 }],
      [{ path: '/path5', method: 'PATCH' }, { backend: V1 }],
      [{ path: '/', method: 'PATCH', headers: { version: 'four' } }, { backend: V2 }],
    ],
  },
  {
    upstream: 'HTTPRouteHostnameIntersection',
    objects: [
      gateway('httproute-hostname-intersection', [
        httpListener('listener-1', { from: 'Same' }, { hostname: 'very.specific.com' }),
        httpListener('listener-2', { from: 'Same' }, { hostname: '*.wildcard.io' }),
        httpListener('listener-3', { from: 'Same' }, { hostname: '*.anotherwildcard.io' }),
      ]),
      ...[
        [
          'specific-host-matches-listener-specific-host',
          ['non.matching.com', '*.nonmatchingwildcard.io', 'very.specific.com'],
          '/s1',
          V1,
        ],
        [
          'specific-host-matches-listener-wildcard-host',
          ['non.matching.com', 'wildcard.io', 'foo.wildcard.io', 'bar.wildcard.io', 'foo.bar.wildcard.io'],
          '/s2',
          V2,
        ],
        ['wildcard-host-matches-listener-specific-host', ['non.matching.com', '*.specific.com'], '/s3', V3],
        ['wildcard-host-matches-listener-wildcard-host', ['*.anotherwildcard.io'], '/s4', V1],
        ['no-intersecting-hosts', ['specific.but.wrong.com', 'wildcard.io'], '/s5', V2],
      ].map(([name, hostnames, path, to]) =>
        httpRoute(name as string, {
          parentRefs: [{ name: 'httproute-hostname-intersection', namespace: INFRA }],
          hostnames,
          rules: [{ matches: [prefix(path as string)], backendRefs: [backend(to as string)] }],
        }),
      ),
    ],
    requests: [
      [{ host: 'very.specific.com', path: '/s1' }, { backend: V1 }],
      [{ host: 'very.specific.com:1234', path: '/s1' }, { backend: V1 }],
      [{ host: 'non.matching.com', path: '/s1' }, { status: 404 }],
      [{ host: 'foo.nonmatchingwildcard.io', path: '/s1' }, { status: 404 }],
      [{ host: 'foo.wildcard.io', path: '/s1' }, { status: 404 }],
      [{ host: 'very.specific.com', path: '/non-matching-prefix' }, { status: 404 }],
      [{ host: 'foo.wildcard.io', path: '/s2' }, { backend: V2 }],
      [{ host: 'bar.wildcard.io', path: '/s2' }, { backend: V2 }],
      [{ host: 'foo.bar.wildcard.io', path: '/s2' }, { backend: V2 }],
      [{ host: 'non.matching.com', path: '/s2' }, { status: 404 }],
      [{ host: 'wildcard.io', path: '/s2' }, { status: 404 }],
      [{ host: 'very.specific.com', path: '/s2' }, { status: 404 }],
      [{ host: 'very.specific.com', path: '/s3' }, { backend: V3 }],
      [{ host: 'foo.specific.com', path: '/s3' }, { status: 404 }],
      [{ host: 'foo.anotherwildcard.io', path: '/s4' }, { backend: V1 }],
      [{ host: 'foo.bar.anotherwildcard.io', path: '/s4' }, { backend: V1 }],
      [{ host: 'anotherwildcard.io', path: '/s4' }, { status: 404 }],
      [{ host: 'specific.but.wrong.com', path: '/s5' }, { status: 404 }],
      [{ host: 'wildcard.io', path: '/s5' }, { status: 404 }],
    ],
    routeStatus: [
      {
        route: 'no-intersecting-hosts',
        gateway: 'httproute-hostname-intersection',
        accepted: ['False', 'NoMatchingListenerHostname'],
      },
      {
        route: 'wildcard-host-matches-listener-wildcard-host',
        gateway: 'httproute-hostname-intersection',
        accepted,
      },
    ],
  },
  {
    upstream: 'HTTPRouteListenerHostnameMatching',
    objects: [
      gateway('httproute-listener-hostname-matching', [
        httpListener('listener-1', { from: 'Same' }, { hostname: 'bar.com' }),
        httpListener('listener-2', { from: 'Same' }, { hostname: 'foo.bar.com' }),
        httpListener('listener-3', { from: 'Same' }, { hostname: '*.bar.com' }),
        httpListener('listener-4', { from: 'Same' }, { hostname: '*.foo.com' }),
      ]),
      ...(
        [
          ['backend-v1', ['listener-1'], V1],
          ['backend-v2', ['listener-2'], V2],
          ['backend-v3', ['listener-3', 'listener-4'], V3],
        ] as const
      ).map(([name, sections, to]) =>
        httpRoute(name, {
          parentRefs: sections.map((sectionName) => ({
            name: 'httproute-listener-hostname-matching',
            namespace: INFRA,
            sectionName,
          })),
          rules: [{ backendRefs: [backend(to)] }],
        }),
      ),
    ],
    requests: [
      [{ host: 'bar.com', path: '/' }, { backend: V1 }],
      [{ host: 'foo.bar.com', path: '/' }, { backend: V2 }],
      [{ host: 'baz.bar.com', path: '/' }, { backend: V3 }],
      [{ host: 'boo.bar.com', path: '/' }, { backend: V3 }],
      [{ host: 'multiple.prefixes.bar.com', path: '/' }, { backend: V3 }],
      [{ host: 'multiple.prefixes.foo.com', path: '/' }, { backend: V3 }],
      [{ host: 'foo.com', path: '/' }, { status: 404 }],
      [{ host: 'no.matching.host', path: '/' }, { status: 404 }],
    ],
  },
  {
    upstream: 'HTTPRouteCrossNamespace',
    objects: [
      httpRoute(
        'cross-namespace',
        {
          parentRefs: [{ name: 'backend-namespaces', namespace: INFRA }],
          rules: [{ backendRefs: [backend('web-backend')] }],
        },
        WEB,
      ),
    ],
    requests: [[{ path: '/' }, { backend: 'web-backend' }]],
    routeStatus: [
      {
        route: 'cross-namespace',
        namespace: WEB,
        gateway: 'backend-namespaces',
        accepted,
        resolvedRefs: resolved,
      },
    ],
  },
  {
    upstream: 'HTTPRouteInvalidCrossNamespaceBackendRef',
    objects: [
      httpRoute('invalid-cross-namespace-backend-ref', {
        ...same,
        rules: [{ backendRefs: [backend('web-backend', { namespace: WEB })] }],
      }),
    ],
    requests: [[{ path: '/' }, { status: 500 }]],
    routeStatus: [
      {
        route: 'invalid-cross-namespace-backend-ref',
        gateway: 'same-namespace',
        accepted,
        resolvedRefs: ['False', 'RefNotPermitted'],
      },
    ],
  },
  {
    upstream: 'HTTPRouteReferenceGrant',
    objects: [
      httpRoute('reference-grant', {
        ...same,
        rules: [{ backendRefs: [backend('web-backend', { namespace: WEB })] }],
      }),
      referenceGrant('reference-grant', WEB, {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: INFRA }],
        to: [{ group: '', kind: 'Service', name: 'web-backend' }],
      }),
    ],
    requests: [[{ path: '/' }, { backend: 'web-backend' }]],
    routeStatus: [{ route: 'reference-grant', gateway: 'same-namespace', accepted, resolvedRefs: resolved }],
  },
  {
    upstream: 'HTTPRouteInvalidReferenceGrant',
    objects: [
      httpRoute('reference-grant-wrong-name', {
        ...same,
        rules: [{ backendRefs: [backend('web-backend', { namespace: WEB })] }],
      }),
      referenceGrant('reference-grant-wrong-name', WEB, {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: INFRA }],
        to: [{ group: '', kind: 'Service', name: 'not-web-backend' }],
      }),
    ],
    requests: [[{ path: '/' }, { status: 500 }]],
    routeStatus: [
      {
        route: 'reference-grant-wrong-name',
        gateway: 'same-namespace',
        accepted,
        resolvedRefs: ['False', 'RefNotPermitted'],
      },
    ],
  },
  {
    upstream: 'HTTPRouteInvalidNonExistentBackendRef',
    objects: [
      httpRoute('invalid-nonexistent-backend-ref', {
        ...same,
        rules: [{ backendRefs: [backend('nonexistent')] }],
      }),
    ],
    requests: [[{ path: '/' }, { status: 500 }]],
    routeStatus: [
      {
        route: 'invalid-nonexistent-backend-ref',
        gateway: 'same-namespace',
        accepted,
        resolvedRefs: ['False', 'BackendNotFound'],
      },
    ],
  },
  {
    upstream: 'HTTPRouteInvalidBackendRefUnknownKind',
    objects: [
      httpRoute('invalid-backend-ref-unknown-kind', {
        ...same,
        rules: [{ backendRefs: [backend(V1, { kind: 'UnknownKind', group: 'unknownkind.example.com' })] }],
      }),
    ],
    requests: [[{ path: '/' }, { status: 500 }]],
    routeStatus: [
      {
        route: 'invalid-backend-ref-unknown-kind',
        gateway: 'same-namespace',
        accepted,
        resolvedRefs: ['False', 'InvalidKind'],
      },
    ],
  },
  {
    upstream: 'HTTPRoutePartiallyInvalidViaInvalidReferenceGrant',
    objects: [
      httpRoute('invalid-reference-grant', {
        ...same,
        rules: [
          {
            matches: [prefix('/v2')],
            backendRefs: [backend('app-backend-v2', { namespace: 'gateway-conformance-app-backend' })],
          },
          { backendRefs: [backend(V1)] },
        ],
      }),
    ],
    requests: [
      [{ path: '/v2' }, { status: 500 }],
      [{ path: '/' }, { backend: V1 }],
    ],
    routeStatus: [
      {
        route: 'invalid-reference-grant',
        gateway: 'same-namespace',
        accepted,
        resolvedRefs: ['False', 'RefNotPermitted'],
      },
    ],
  },
  {
    upstream: 'HTTPRouteInvalidCrossNamespaceParentRef',
    objects: [
      httpRoute(
        'invalid-cross-namespace-parent-ref',
        {
          parentRefs: [{ name: 'same-namespace', namespace: INFRA }],
          rules: [{ backendRefs: [backend('web-backend')] }],
        },
        WEB,
      ),
    ],
    requests: [[{ path: '/' }, { status: 404 }]],
    routeStatus: [
      {
        route: 'invalid-cross-namespace-parent-ref',
        namespace: WEB,
        gateway: 'same-namespace',
        accepted: ['False', 'NotAllowedByListeners'],
      },
    ],
  },
  {
    upstream: 'HTTPRouteInvalidParentRefNotMatchingSectionName',
    objects: [
      httpRoute('httproute-listener-not-matching-section-name', {
        parentRefs: [{ name: 'same-namespace', namespace: INFRA, sectionName: 'unknown-section' }],
        rules: [{ backendRefs: [backend(V1)] }],
      }),
    ],
    requests: [[{ path: '/' }, { status: 404 }]],
    routeStatus: [
      {
        route: 'httproute-listener-not-matching-section-name',
        gateway: 'same-namespace',
        accepted: ['False', 'NoMatchingParent'],
      },
    ],
  },
  {
    upstream: 'HTTPRouteInvalidParentRefNotMatchingListenerPort',
    objects: [
      httpRoute('httproute-listener-not-matching-route-port', {
        parentRefs: [{ name: 'same-namespace', namespace: INFRA, port: 81 }],
        rules: [{ backendRefs: [backend(V1)] }],
      }),
    ],
    requests: [[{ path: '/' }, { status: 404 }]],
    routeStatus: [
      {
        route: 'httproute-listener-not-matching-route-port',
        gateway: 'same-namespace',
        accepted: ['False', 'NoMatchingParent'],
      },
    ],
  },
  {
    upstream: 'HTTPRouteRequestHeaderModifier',
    objects: [
      httpRoute('request-header-modifier', {
        ...same,
        rules: [
          ['/set', { set: [header('X-Header-Set', 'set-overwrites-values')] }],
          ['/add', { add: [header('X-Header-Add', 'add-appends-values')] }],
          ['/remove', { remove: ['X-Header-Remove'] }],
          [
            '/multiple',
            {
              set: [header('X-Header-Set-1', 'header-set-1'), header('X-Header-Set-2', 'header-set-2')],
              add: [
                header('X-Header-Add-1', 'header-add-1'),
                header('X-Header-Add-2', 'header-add-2'),
                header('X-Header-Add-3', 'header-add-3'),
              ],
              remove: ['X-Header-Remove-1', 'X-Header-Remove-2'],
            },
          ],
          [
            '/case-insensitivity',
            {
              set: [header('X-Header-Set', 'header-set')],
              add: [header('X-Header-Add', 'header-add')],
              remove: ['X-Header-Remove'],
            },
          ],
        ].map(([path, modifier]) => ({
          matches: [prefix(path as string)],
          filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: modifier }],
          backendRefs: [backend(V1)],
        })),
      }),
    ],
    requests: [
      [
        { path: '/set', headers: { 'Some-Other-Header': 'val' } },
        {
          backend: V1,
          requestHeaders: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' },
        },
      ],
      [
        { path: '/set', headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value' } },
        { backend: V1, requestHeaders: { 'X-Header-Set': 'set-overwrites-values' } },
      ],
      [
        { path: '/add', headers: { 'Some-Other-Header': 'val' } },
        { backend: V1, requestHeaders: { 'X-Header-Add': 'add-appends-values' } },
      ],
      [
        { path: '/add', headers: { 'X-Header-Add': 'some-other-value' } },
        { backend: V1, requestHeaders: { 'X-Header-Add': 'some-other-value,add-appends-values' } },
      ],
      [
        { path: '/remove', headers: { 'X-Header-Remove': 'val' } },
        { backend: V1, absentRequestHeaders: ['X-Header-Remove'] },
      ],
      [
        {
          path: '/multiple',
          headers: {
            'X-Header-Set-2': 'set-val-2',
            'X-Header-Add-2': 'add-val-2',
            'X-Header-Remove-2': 'remove-val-2',
            'Another-Header': 'another-header-val',
          },
        },
        {
          backend: V1,
          requestHeaders: {
            'X-Header-Set-1': 'header-set-1',
            'X-Header-Set-2': 'header-set-2',
            'X-Header-Add-1': 'header-add-1',
            'X-Header-Add-2': 'add-val-2,header-add-2',
            'X-Header-Add-3': 'header-add-3',
            'Another-Header': 'another-header-val',
          },
          absentRequestHeaders: ['X-Header-Remove-1', 'X-Header-Remove-2'],
        },
      ],
      [
        {
          path: '/case-insensitivity',
          headers: {
            'x-header-set': 'original-val-set',
            'x-header-add': 'original-val-add',
            'x-header-remove': 'original-val-remove',
          },
        },
        {
          backend: V1,
          requestHeaders: { 'X-Header-Set': 'header-set', 'X-Header-Add': 'original-val-add,header-add' },
          absentRequestHeaders: ['X-Header-Remove'],
        },
      ],
    ],
  },
  {
    upstream: 'HTTPRouteResponseHeaderModifier',
    objects: [
      httpRoute('response-header-modifier', {
        ...same,
        rules: [
          ['/set', { set: [header('X-Header-Set', 'set-overwrites-values')] }],
          ['/add', { add: [header('X-Header-Add', 'add-appends-values')] }],
          ['/remove', { remove: ['X-Header-Remove'] }],
        ].map(([path, modifier]) => ({
          matches: [prefix(path as string)],
          filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: modifier }],
          backendRefs: [backend(V1)],
        })),
      }),
    ],
    requests: [
      [
        { path: '/set', headers: { 'x-echo-set-header': 'Some-Other-Header:val' } },
        {
          backend: V1,
          responseHeaders: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' },
        },
      ],
      [
        { path: '/set', headers: { 'x-echo-set-header': 'X-Header-Set:some-other-value' } },
        { backend: V1, responseHeaders: { 'X-Header-Set': 'set-overwrites-values' } },
      ],
      [
        { path: '/add', headers: { 'x-echo-set-header': 'X-Header-Add:some-other-value' } },
        { backend: V1, responseHeaders: { 'X-Header-Add': 'some-other-value,add-appends-values' } },
      ],
      [
        { path: '/remove', headers: { 'x-echo-set-header': 'X-Header-Remove:val' } },
        { backend: V1, absentResponseHeaders: ['X-Header-Remove'] },
      ],
    ],
  },
  {
    upstream: 'HTTPRouteRedirectHostAndStatus',
    objects: [
      httpRoute('redirect-host-and-status', {
        ...same,
        rules: [
          {
            matches: [prefix('/hostname-redirect')],
            filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: 'example.org' } }],
          },
          {
            matches: [prefix('/host-and-status')],
            filters: [
              { type: 'RequestRedirect', requestRedirect: { statusCode: 301, hostname: 'example.org' } },
            ],
          },
        ],
      }),
    ],
    requests: [
      [{ path: '/hostname-redirect' }, { status: 302, redirect: { host: 'example.org' } }],
      [{ path: '/host-and-status' }, { status: 301, redirect: { host: 'example.org' } }],
    ],
  },
  {
    upstream: 'HTTPRouteRedirectPort',
    objects: [
      httpRoute('redirect-port', {
        ...same,
        rules: [
          {
            matches: [prefix('/port')],
            filters: [{ type: 'RequestRedirect', requestRedirect: { port: 8083 } }],
          },
          {
            matches: [prefix('/port-and-host')],
            filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: 'example.org', port: 8083 } }],
          },
          {
            matches: [prefix('/port-and-status')],
            filters: [{ type: 'RequestRedirect', requestRedirect: { port: 8083, statusCode: 301 } }],
          },
        ],
      }),
    ],
    requests: [
      [{ path: '/port' }, { status: 302, redirect: { port: '8083' } }],
      [{ path: '/port-and-host' }, { status: 302, redirect: { host: 'example.org', port: '8083' } }],
      [{ path: '/port-and-status' }, { status: 301, redirect: { port: '8083' } }],
    ],
  },
  {
    upstream: 'HTTPRouteRedirectScheme',
    objects: [
      httpRoute('redirect-scheme', {
        ...same,
        rules: [
          {
            matches: [prefix('/scheme')],
            filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }],
          },
          {
            matches: [prefix('/scheme-and-host')],
            filters: [
              { type: 'RequestRedirect', requestRedirect: { hostname: 'example.org', scheme: 'https' } },
            ],
          },
          {
            matches: [prefix('/scheme-and-status')],
            filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }],
          },
        ],
      }),
    ],
    requests: [
      [{ path: '/scheme' }, { status: 302, redirect: { scheme: 'https', port: '' } }],
      [
        { path: '/scheme-and-host' },
        { status: 302, redirect: { scheme: 'https', host: 'example.org', port: '' } },
      ],
      [{ path: '/scheme-and-status' }, { status: 301, redirect: { scheme: 'https', port: '' } }],
    ],
  },
  {
    upstream: 'HTTPRouteRedirectPath',
    objects: [
      httpRoute('redirect-path', {
        ...same,
        rules: [
          {
            matches: [prefix('/full')],
            filters: [
              {
                type: 'RequestRedirect',
                requestRedirect: {
                  path: { type: 'ReplaceFullPath', replaceFullPath: '/full-path-replacement' },
                },
              },
            ],
          },
          {
            matches: [prefix('/original-prefix')],
            filters: [
              {
                type: 'RequestRedirect',
                requestRedirect: {
                  path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' },
                },
              },
            ],
          },
          {
            matches: [prefix('/strip-prefix')],
            filters: [
              {
                type: 'RequestRedirect',
                requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } },
              },
            ],
          },
          {
            matches: [prefix('/path-and-host')],
            filters: [
              {
                type: 'RequestRedirect',
                requestRedirect: {
                  hostname: 'example.org',
                  path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' },
                },
              },
            ],
          },
        ],
      }),
    ],
    requests: [
      [{ path: '/full/path/original' }, { status: 302, redirect: { path: '/full-path-replacement' } }],
      [{ path: '/original-prefix/lemon' }, { status: 302, redirect: { path: '/replacement-prefix/lemon' } }],
      [{ path: '/strip-prefix/three' }, { status: 302, redirect: { path: '/three' } }],
      [{ path: '/strip-prefix' }, { status: 302, redirect: { path: '/' } }],
      [
        { path: '/path-and-host/lemon' },
        { status: 302, redirect: { host: 'example.org', path: '/replacement-prefix/lemon' } },
      ],
    ],
  },
  {
    upstream: 'HTTPRouteRewriteHost',
    objects: [
      httpRoute('rewrite-host', {
        ...same,
        hostnames: ['rewrite.example'],
        rules: [
          {
            matches: [prefix('/one')],
            filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'one.example.org' } }],
            backendRefs: [backend(V1)],
          },
          {
            filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'example.org' } }],
            backendRefs: [backend(V2)],
          },
        ],
      }),
    ],
    requests: [
      [
        { host: 'rewrite.example', path: '/one' },
        { backend: V1, host: 'one.example.org', path: '/one' },
      ],
      [
        { host: 'rewrite.example', path: '/two' },
        { backend: V2, host: 'example.org', path: '/two' },
      ],
    ],
  },
  {
    upstream: 'HTTPRouteRewritePath',
    objects: [
      httpRoute('rewrite-path', {
        ...same,
        rules: [
          {
            matches: [prefix('/prefix/one')],
            filters: [
              {
                type: 'URLRewrite',
                urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/one' } },
              },
            ],
            backendRefs: [backend(V1)],
          },
          {
            matches: [prefix('/strip-prefix')],
            filters: [
              {
                type: 'URLRewrite',
                urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } },
              },
            ],
            backendRefs: [backend(V1)],
          },
          {
            matches: [prefix('/full/one')],
            filters: [
              {
                type: 'URLRewrite',
                urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/one' } },
              },
            ],
            backendRefs: [backend(V1)],
          },
        ],
      }),
    ],
    requests: [
      [{ path: '/prefix/one/two' }, { backend: V1, path: '/one/two' }],
      [{ path: '/strip-prefix/three' }, { backend: V1, path: '/three' }],
      [{ path: '/strip-prefix' }, { backend: V1, path: '/' }],
      [{ path: '/full/one/two' }, { backend: V1, path: '/one' }],
    ],
  },
  {
    upstream: 'GatewayWithAttachedRoutes (routes from other namespaces, by label selector)',
    objects: [
      httpRoute(
        'attached-by-selector',
        {
          parentRefs: [{ name: 'backend-namespaces', namespace: INFRA }],
          hostnames: ['selector.example'],
          rules: [{ backendRefs: [backend('app-backend-v1')] }],
        },
        'gateway-conformance-app-backend',
      ),
      httpRoute(
        'not-selected',
        {
          parentRefs: [{ name: 'backend-namespaces', namespace: INFRA }],
          hostnames: ['not-selected.example'],
          rules: [{ backendRefs: [backend(V1)] }],
        },
        INFRA,
      ),
    ],
    requests: [
      [{ host: 'selector.example', path: '/' }, { backend: 'app-backend-v1' }],
      [{ host: 'not-selected.example', path: '/' }, { status: 404 }],
    ],
    routeStatus: [
      {
        route: 'attached-by-selector',
        namespace: 'gateway-conformance-app-backend',
        gateway: 'backend-namespaces',
        accepted,
      },
      { route: 'not-selected', gateway: 'backend-namespaces', accepted: ['False', 'NotAllowedByListeners'] },
    ],
  },
  {
    upstream: 'HTTPRouteHTTPSListener (and GatewaySecretReferenceGrantSpecific)',
    objects: [
      secret('secure-cert', INFRA),
      secret('other-cert', WEB, OTHER),
      referenceGrant('allow-gateway-secrets', WEB, {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: INFRA }],
        to: [{ group: '', kind: 'Secret', name: 'other-cert' }],
      }),
      gateway('https-gateway', [
        httpsListener('secure', 'secure.example', [{ name: 'secure-cert' }]),
        httpsListener('other', 'other.example', [{ name: 'other-cert', namespace: WEB }]),
      ]),
      httpRoute('https-route', {
        parentRefs: [{ name: 'https-gateway' }],
        hostnames: ['secure.example', 'other.example'],
        rules: [{ backendRefs: [backend(V1)] }],
      }),
    ],
    requests: [
      [
        { tls: true, host: 'secure.example', path: '/' },
        { backend: V1, certificateCn: 'secure.example' },
      ],
      [
        { tls: true, host: 'other.example', path: '/' },
        { backend: V1, certificateCn: 'other.example' },
      ],
      [{ host: 'secure.example', path: '/' }, { status: 404 }],
    ],
    gatewayStatus: [
      {
        gateway: 'https-gateway',
        accepted: ['True', 'Accepted'],
        programmed: ['True', 'Programmed'],
        listeners: {
          secure: {
            attachedRoutes: 1,
            resolvedRefs: ['True', 'ResolvedRefs'],
            programmed: ['True', 'Programmed'],
          },
          other: { attachedRoutes: 1, resolvedRefs: ['True', 'ResolvedRefs'] },
        },
      },
    ],
  },
  {
    upstream: 'GatewayInvalidTLSConfiguration, GatewaySecretMissingReferenceGrant',
    objects: [
      secret('secret-elsewhere', WEB),
      {
        plural: 'secrets',
        object: {
          metadata: { name: 'malformed', namespace: INFRA },
          type: 'kubernetes.io/tls',
          data: {
            'tls.crt': Buffer.from('not a certificate').toString('base64'),
            'tls.key': Buffer.from('not a key').toString('base64'),
          },
        },
      },
      gateway('gateway-certificate-nonexistent-secret', [
        httpsListener('https', undefined, [{ name: 'nonexistent' }]),
      ]),
      gateway('gateway-certificate-unsupported-group', [
        httpsListener('https', undefined, [
          { group: 'wrong.group.company.io', kind: 'Secret', name: 'secure-cert' },
        ]),
      ]),
      gateway('gateway-certificate-unsupported-kind', [
        httpsListener('https', undefined, [{ group: '', kind: 'WrongKind', name: 'secure-cert' }]),
      ]),
      gateway('gateway-certificate-malformed-secret', [
        httpsListener('https', undefined, [{ name: 'malformed' }]),
      ]),
      gateway('gateway-secret-missing-reference-grant', [
        httpsListener('https', undefined, [{ name: 'secret-elsewhere', namespace: WEB }]),
      ]),
    ],
    requests: [],
    gatewayStatus: [
      ...['nonexistent-secret', 'unsupported-group', 'unsupported-kind', 'malformed-secret'].map((name) => ({
        gateway: `gateway-certificate-${name}`,
        listeners: {
          https: {
            resolvedRefs: ['False', 'InvalidCertificateRef'] as const,
            programmed: ['False', 'Invalid'] as const,
          },
        },
      })),
      {
        gateway: 'gateway-secret-missing-reference-grant',
        listeners: {
          https: { resolvedRefs: ['False', 'RefNotPermitted'], programmed: ['False', 'Invalid'] },
        },
      },
    ],
  },
  {
    upstream: 'GatewayInvalidRouteKind',
    objects: [
      gateway('gateway-only-invalid-route-kind', [
        httpListener(
          'http',
          { from: 'All' },
          { allowedRoutes: { namespaces: { from: 'All' }, kinds: [{ kind: 'InvalidRoute' }] } },
        ),
      ]),
      gateway('gateway-supported-and-invalid-route-kind', [
        httpListener(
          'http',
          { from: 'All' },
          {
            allowedRoutes: {
              namespaces: { from: 'All' },
              kinds: [{ kind: 'InvalidRoute' }, { kind: 'HTTPRoute' }],
            },
          },
        ),
      ]),
    ],
    requests: [],
    gatewayStatus: [
      {
        gateway: 'gateway-only-invalid-route-kind',
        listeners: { http: { resolvedRefs: ['False', 'InvalidRouteKinds'], supportedKinds: [] } },
      },
      {
        gateway: 'gateway-supported-and-invalid-route-kind',
        listeners: { http: { resolvedRefs: ['False', 'InvalidRouteKinds'], supportedKinds: ['HTTPRoute'] } },
      },
    ],
  },
  {
    upstream: 'GatewayInvalidListenersUnsupportedProtocol',
    objects: [
      gateway('gateway-only-unsupported-protocols', [
        { name: 'invalid', port: 80, protocol: 'example.com/unsupported' },
      ]),
      gateway('gateway-supported-and-unsupported-protocols', [
        httpListener('http'),
        { name: 'invalid', port: 80, protocol: 'example.com/unsupported' },
      ]),
    ],
    requests: [],
    gatewayStatus: [
      {
        gateway: 'gateway-only-unsupported-protocols',
        accepted: ['False', 'ListenersNotValid'],
        listeners: { invalid: { accepted: ['False', 'UnsupportedProtocol'], supportedKinds: [] } },
      },
      {
        gateway: 'gateway-supported-and-unsupported-protocols',
        accepted: ['True', 'ListenersNotValid'],
        listeners: {
          http: { accepted: ['True', 'Accepted'], supportedKinds: ['HTTPRoute', 'GRPCRoute'] },
          invalid: { accepted: ['False', 'UnsupportedProtocol'], supportedKinds: [] },
        },
      },
    ],
  },
  {
    upstream: 'HTTPRouteDisallowedKind',
    objects: [
      gateway('grpc-only', [
        httpListener(
          'http',
          { from: 'Same' },
          { allowedRoutes: { namespaces: { from: 'Same' }, kinds: [{ kind: 'GRPCRoute' }] } },
        ),
      ]),
      httpRoute('disallowed-kind', {
        parentRefs: [{ name: 'grpc-only' }],
        hostnames: ['disallowed.example'],
        rules: [{ backendRefs: [backend(V1)] }],
      }),
    ],
    requests: [[{ host: 'disallowed.example', path: '/' }, { status: 404 }]],
    routeStatus: [
      { route: 'disallowed-kind', gateway: 'grpc-only', accepted: ['False', 'NotAllowedByListeners'] },
    ],
    gatewayStatus: [
      { gateway: 'grpc-only', listeners: { http: { attachedRoutes: 0, supportedKinds: ['GRPCRoute'] } } },
    ],
  },
  {
    upstream: 'GatewayWithAttachedRoutes',
    objects: [
      gateway('gateway-with-one-attached-route', [
        httpListener('http', { from: 'Same' }, { hostname: 'attached.example' }),
      ]),
      gateway('gateway-with-two-attached-routes', [
        httpListener('http', { from: 'Same' }, { hostname: 'two.example' }),
      ]),
      httpRoute('http-route-1', {
        parentRefs: [{ name: 'gateway-with-one-attached-route' }],
        rules: [{ backendRefs: [backend(V1)] }],
      }),
      httpRoute('http-route-2', {
        parentRefs: [{ name: 'gateway-with-two-attached-routes' }],
        rules: [{ matches: [prefix('/a')], backendRefs: [backend(V1)] }],
      }),
      httpRoute('http-route-3', {
        parentRefs: [{ name: 'gateway-with-two-attached-routes' }],
        rules: [{ matches: [prefix('/b')], backendRefs: [backend(V2)] }],
      }),
    ],
    requests: [
      [{ host: 'attached.example', path: '/' }, { backend: V1 }],
      [{ host: 'two.example', path: '/b' }, { backend: V2 }],
    ],
    gatewayStatus: [
      {
        gateway: 'gateway-with-one-attached-route',
        accepted: ['True', 'Accepted'],
        programmed: ['True', 'Programmed'],
        listeners: { http: { attachedRoutes: 1 } },
      },
      {
        gateway: 'gateway-with-two-attached-routes',
        listeners: { http: { attachedRoutes: 2, accepted: ['True', 'Accepted'] } },
      },
    ],
  },
  {
    upstream: 'HTTPRouteWeight',
    objects: [
      httpRoute('weighted-backends', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['weights.example'],
        rules: [
          {
            backendRefs: [
              backend(V1, { weight: 70 }),
              backend(V2, { weight: 30 }),
              backend(V3, { weight: 0 }),
            ],
          },
        ],
      }),
      httpRoute('all-zero-weights', {
        parentRefs: [{ name: 'same-namespace' }],
        hostnames: ['zero.example'],
        rules: [{ backendRefs: [backend(V1, { weight: 0 })] }],
      }),
    ],
    requests: [
      [{ host: 'weights.example', path: '/' }, {}],
      [{ host: 'zero.example', path: '/' }, { status: 500 }],
    ],
  },
  {
    upstream: 'HTTPRoutePathMatchOrder',
    objects: [
      httpRoute('path-matching-order', {
        ...same,
        rules: (
          [
            ['Exact', '/match', V1],
            ['Exact', '/match/exact', V2],
            ['Exact', '/match/exact/one', V3],
            ['PathPrefix', '/match/', V3],
            ['PathPrefix', '/match/prefix/', V1],
            ['PathPrefix', '/match/prefix/one', V2],
          ] as const
        ).map(([type, value, to]) => ({ matches: [{ path: { type, value } }], backendRefs: [backend(to)] })),
      }),
    ],
    requests: [
      [{ path: '/match/exact/one' }, { backend: V3 }],
      [{ path: '/match/exact' }, { backend: V2 }],
      [{ path: '/match' }, { backend: V1 }],
      [{ path: '/match/prefix/one/any' }, { backend: V2 }],
      [{ path: '/match/prefix/any' }, { backend: V1 }],
      [{ path: '/match/any' }, { backend: V3 }],
    ],
  },
  {
    upstream: 'HTTPRouteMatchingAcrossRoutes',
    objects: [
      httpRoute('matching-part1', {
        ...same,
        hostnames: ['example.com', 'example.net'],
        rules: [
          { matches: [prefix('/'), { headers: [header('version', 'one')] }], backendRefs: [backend(V1)] },
        ],
      }),
      httpRoute('matching-part2', {
        ...same,
        hostnames: ['example.com'],
        rules: [
          { matches: [prefix('/v2'), { headers: [header('version', 'two')] }], backendRefs: [backend(V2)] },
        ],
      }),
    ],
    requests: [
      [{ host: 'example.com', path: '/' }, { backend: V1 }],
      [{ host: 'example.net', path: '/example' }, { backend: V1 }],
      [{ host: 'example.com', path: '/example', headers: { Version: 'one' } }, { backend: V1 }],
      [{ host: 'example.com', path: '/v2' }, { backend: V2 }],
      [{ host: 'example.net', path: '/v2' }, { backend: V1 }],
      [{ host: 'example.com', path: '/v2/example' }, { backend: V2 }],
      [{ host: 'example.com', path: '/', headers: { Version: 'two' } }, { backend: V2 }],
    ],
  },
  {
    upstream: 'GatewayHTTPListenerIsolation',
    objects: [
      gateway('http-listener-isolation', [
        httpListener('empty-hostname', { from: 'All' }),
        httpListener('wildcard-example-com', { from: 'All' }, { hostname: '*.example.com' }),
        httpListener('wildcard-foo-example-com', { from: 'All' }, { hostname: '*.foo.example.com' }),
        httpListener('abc-foo-example-com', { from: 'All' }, { hostname: 'abc.foo.example.com' }),
      ]),
      ...['empty-hostname', 'wildcard-example-com', 'wildcard-foo-example-com', 'abc-foo-example-com'].map(
        (section) =>
          httpRoute(`attaches-to-${section}`, {
            parentRefs: [{ name: 'http-listener-isolation', sectionName: section }],
            rules: [{ matches: [prefix(`/${section}`)], backendRefs: [backend(V1)] }],
          }),
      ),
    ],
    requests: (
      [
        ['bar.com', 'empty-hostname'],
        ['bar.example.com', 'wildcard-example-com'],
        ['bar.foo.example.com', 'wildcard-foo-example-com'],
        ['abc.foo.example.com', 'abc-foo-example-com'],
      ] as const
    ).flatMap(([host, served]) =>
      ['empty-hostname', 'wildcard-example-com', 'wildcard-foo-example-com', 'abc-foo-example-com'].map(
        (section): [Req, Expect] => [
          { host, path: `/${section}` },
          section === served ? { backend: V1 } : { status: 404 },
        ],
      ),
    ),
  },
  {
    upstream:
      'HTTPRoute303Redirect, HTTPRoute307Redirect, HTTPRoute308Redirect, HTTPRouteRedirectPortAndScheme',
    objects: [
      httpRoute('redirect-statuses', {
        ...same,
        rules: [
          ...[303, 307, 308].map((statusCode) => ({
            matches: [prefix(`/status-${statusCode}`)],
            filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode, hostname: 'example.org' } }],
          })),
          {
            matches: [prefix('/scheme-https-and-port')],
            filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', port: 8443 } }],
          },
          {
            matches: [prefix('/scheme-https-and-443')],
            filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', port: 443 } }],
          },
        ],
      }),
    ],
    requests: [
      [{ path: '/status-303' }, { status: 303, redirect: { host: 'example.org' } }],
      [{ path: '/status-307' }, { status: 307, redirect: { host: 'example.org' } }],
      [{ path: '/status-308' }, { status: 308, redirect: { host: 'example.org' } }],
      [{ path: '/scheme-https-and-port' }, { status: 302, redirect: { scheme: 'https', port: '8443' } }],
      [{ path: '/scheme-https-and-443' }, { status: 302, redirect: { scheme: 'https', port: '' } }],
    ],
  },
  {
    upstream: 'HTTPRouteNoBackendRefs, HTTPRouteNamedRule',
    objects: [
      httpRoute('no-backends', {
        ...same,
        hostnames: ['nobackends.example'],
        rules: [{ name: 'no-backends-rule', matches: [prefix('/')] }],
      }),
      httpRoute('named-rule', {
        ...same,
        hostnames: ['named.example'],
        rules: [{ name: 'named-rule-one', backendRefs: [backend(V2)] }],
      }),
    ],
    requests: [
      [{ host: 'nobackends.example', path: '/' }, { status: 500 }],
      [{ host: 'named.example', path: '/' }, { backend: V2 }],
    ],
    routeStatus: [{ route: 'named-rule', gateway: 'same-namespace', accepted, resolvedRefs: resolved }],
  },
  {
    upstream: 'HTTPRouteListenerPortMatching, HTTPRouteInvalidParentRefSectionNameNotMatchingPort',
    objects: [
      httpRoute('port-matching', {
        parentRefs: [{ name: 'same-namespace', port: 80 }],
        hostnames: ['port.example'],
        rules: [{ backendRefs: [backend(V3)] }],
      }),
      httpRoute('section-and-wrong-port', {
        parentRefs: [{ name: 'same-namespace', sectionName: 'http', port: 81 }],
        hostnames: ['wrong-port.example'],
        rules: [{ backendRefs: [backend(V3)] }],
      }),
    ],
    requests: [
      [{ host: 'port.example', path: '/' }, { backend: V3 }],
      [{ host: 'wrong-port.example', path: '/' }, { status: 404 }],
    ],
    routeStatus: [
      { route: 'port-matching', gateway: 'same-namespace', accepted },
      { route: 'section-and-wrong-port', gateway: 'same-namespace', accepted: ['False', 'NoMatchingParent'] },
    ],
  },
  {
    upstream: 'GatewaySecretReferenceGrantAllInNamespace, GatewaySecretInvalidReferenceGrant',
    objects: [
      secret('all-in-namespace', APP),
      secret('invalid-grant', WEB),
      referenceGrant('all-secrets', APP, {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: INFRA }],
        to: [{ group: '', kind: 'Secret' }],
      }),
      referenceGrant('wrong-from-kind', WEB, {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: INFRA }],
        to: [{ group: '', kind: 'Secret', name: 'invalid-grant' }],
      }),
      gateway('gateway-secret-all-in-namespace', [
        httpsListener('https', 'grant-all.example', [{ name: 'all-in-namespace', namespace: APP }]),
      ]),
      gateway('gateway-secret-invalid-reference-grant', [
        httpsListener('https', 'grant-invalid.example', [{ name: 'invalid-grant', namespace: WEB }]),
      ]),
    ],
    requests: [],
    gatewayStatus: [
      {
        gateway: 'gateway-secret-all-in-namespace',
        listeners: { https: { resolvedRefs: ['True', 'ResolvedRefs'], programmed: ['True', 'Programmed'] } },
      },
      {
        gateway: 'gateway-secret-invalid-reference-grant',
        listeners: {
          https: { resolvedRefs: ['False', 'RefNotPermitted'], programmed: ['False', 'Invalid'] },
        },
      },
    ],
  },
];
