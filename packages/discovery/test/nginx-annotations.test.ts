import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '@portico/config';
import {
  type ClusterState,
  type EndpointSlice,
  type Ingress,
  type IngressClass,
  keyOf,
  NGINX_ANNOTATIONS,
  nginxSize,
  readNginxAnnotations,
  type Secret,
  type Service,
  type TranslateOptions,
  translateCluster,
} from '@portico/discovery';
import { endpointSlice, ingress, ingressClass, service } from './helpers/kube-fixtures.ts';

const OPTIONS: TranslateOptions = {
  controller: 'portico.dev/ingress-controller',
  ingressClass: 'portico',
  allowExternalName: false,
  httpsAvailable: true,
  nginxClass: 'nginx',
};

type Fixture = { metadata: { name: string; namespace?: string }; [field: string]: unknown };

function cluster(objects: {
  ingresses?: Fixture[];
  services?: Fixture[];
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
    ingressClasses: map<IngressClass>([
      ingressClass('portico'),
      ingressClass('nginx', { controller: 'k8s.io/ingress-nginx' }),
    ]),
    services: map<Service>([web, ...(objects.services ?? [])]),
    endpointSlices: map<EndpointSlice>([webSlice]),
    secrets: map<Secret>(objects.secrets),
  };
}

const web = service('web', { ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
const webSlice = endpointSlice('web-1', 'web', [{ address: '10.0.0.1' }], [{ name: 'http', port: 8080 }]);
const N = 'nginx.ingress.kubernetes.io/';

/** nginxIngress is an Ingress of class nginx for app.example with `annotations` (names without the prefix). */
function nginxIngress(
  name: string,
  annotations: Record<string, string>,
  extra: Parameters<typeof ingress>[1] = {},
) {
  return ingress(name, {
    className: 'nginx',
    host: 'app.example',
    paths: [{ path: '/', service: 'web', port: 80 }],
    annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`${N}${k}`, v])),
    ...extra,
  });
}

function translate(
  objects: Parameters<typeof cluster>[0],
  options: Partial<TranslateOptions> = {},
  base = OPTIONS,
) {
  const t = translateCluster(cluster(objects), { ...base, ...options });
  return { ...t, codes: t.issues.map((i) => `${i.code} ${i.field}`) };
}

describe('ingress-nginx Ingresses (--ingress-nginx-class nginx): annotations translated', () => {
  it('serves the nginx class only when asked, and keeps Portico’s own class as it was', () => {
    const objects = {
      ingresses: [
        nginxIngress('a', {}),
        ingress('b', { host: 'b.example', paths: [{ service: 'web', port: 80 }] }),
      ],
    };
    assert.deepEqual(
      translate(objects, {}, { ...OPTIONS, nginxClass: 'not-this-one' }).routes.map((r) => r.host),
      ['b.example'],
    );
    assert.deepEqual(
      translate(objects)
        .routes.map((r) => r.host)
        .sort(),
      ['app.example', 'b.example'],
    );
    const legacy = ingress('c', {
      className: null,
      host: 'c.example',
      paths: [{ service: 'web', port: 80 }],
      annotations: { 'kubernetes.io/ingress.class': 'nginx' },
    });
    assert.deepEqual(
      translate({ ingresses: [legacy] }).routes.map((r) => r.host),
      ['c.example'],
    );
  });

  it('translates routing annotations: rewrite-target with use-regex, redirects, app-root, aliases, www', () => {
    const t = translate({
      ingresses: [
        nginxIngress(
          'a',
          {
            'rewrite-target': '/$2',
            'app-root': '/app',
            'server-alias': 'alias.example',
            'from-to-www-redirect': 'true',
          },
          {
            paths: [{ path: '/api(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'web', port: 80 }],
          },
        ),
        nginxIngress(
          'r',
          { 'permanent-redirect': 'https://new.example/x', 'permanent-redirect-code': '308' },
          { host: 'old.example' },
        ),
      ],
    });
    assert.deepEqual(t.codes, []);
    const byHost = new Map(t.routes.map((r) => [r.host, r]));
    const app = byHost.get('app.example')!;
    assert.equal(app.rewriteTarget, '/$2');
    assert.deepEqual(app.paths![0], {
      path: '/',
      type: 'Exact',
      filters: [{ redirect: { path: '/app', status: 302 } }],
    });
    assert.equal(app.paths![1]!.regex, true);
    assert.equal(byHost.get('alias.example')!.rewriteTarget, '/$2', 'an alias serves the same rules');
    assert.deepEqual(byHost.get('www.app.example')!.paths, [
      { path: '/', type: 'Prefix', filters: [{ redirect: { host: 'app.example', status: 308 } }] },
    ]);
    assert.deepEqual(byHost.get('old.example')!.redirect, {
      scheme: 'https',
      host: 'new.example',
      path: '/x',
      status: 308,
    });
  });

  it('redirects TLS hosts to HTTPS by default, as ingress-nginx does; ssl-redirect false and force-ssl-redirect', () => {
    const tls = { tls: [{ hosts: ['app.example'], secretName: 'none' }] };
    assert.equal(translate({ ingresses: [nginxIngress('a', {}, tls)] }).routes[0]!.httpsRedirect, true);
    assert.equal(
      translate({ ingresses: [nginxIngress('a', { 'ssl-redirect': 'false' }, tls)] }).routes[0]!
        .httpsRedirect,
      undefined,
    );
    assert.equal(
      translate({ ingresses: [nginxIngress('a', { 'force-ssl-redirect': 'true' })] }).routes[0]!
        .httpsRedirect,
      true,
    );
    assert.equal(translate({ ingresses: [nginxIngress('a', {})] }).routes[0]!.httpsRedirect, undefined);
  });

  it('translates policies: source ranges, rate and connection limits, CORS, body size, timeouts, forward auth', () => {
    const t = translate({
      ingresses: [
        nginxIngress('a', {
          'whitelist-source-range': '10.0.0.0/8, 192.168.1.1',
          'denylist-source-range': '10.0.0.9',
          'limit-rps': '10',
          'limit-connections': '3',
          'enable-cors': 'true',
          'cors-allow-origin': 'https://a.example, https://*.b.example',
          'proxy-body-size': '8m',
          'proxy-connect-timeout': '5',
          'proxy-read-timeout': '120',
          'auth-url': 'http://auth.example/verify',
          'auth-signin': 'https://login.example/start',
          'auth-response-headers': 'X-User, X-Email',
          'x-forwarded-prefix': '/api',
          'upstream-vhost': 'internal.example',
        }),
      ],
    });
    assert.deepEqual(t.codes, []);
    const r = t.routes[0]!;
    assert.deepEqual(r.access, { allow: ['10.0.0.0/8', '192.168.1.1'], deny: ['10.0.0.9'] });
    assert.deepEqual(r.rateLimit, { requestsPerSecond: 10, burst: 50, key: 'client-ip', status: 503 });
    assert.deepEqual(r.inFlight, { maxPerClient: 3, status: 503 });
    assert.deepEqual(r.cors?.allowOrigins, ['https://a.example', 'https://*.b.example']);
    assert.equal(r.cors?.allowCredentials, true);
    assert.equal(r.maxBodyBytes, 8 * 1024 * 1024);
    assert.deepEqual(r.timeouts, {
      upstreamConnectMs: 5_000,
      upstreamResponseHeadMs: 120_000,
      upstreamIdleMs: 120_000,
    });
    assert.deepEqual(r.forwardAuth, {
      url: 'http://auth.example/verify',
      responseHeaders: ['X-User', 'X-Email'],
      signInUrl: 'https://login.example/start',
    });
    assert.deepEqual(r.requestHeaders, { set: { 'X-Forwarded-Prefix': '/api' } });
    assert.deepEqual(r.rewrite, { host: 'internal.example' });
    // The whole translation is a valid config.
    const valid = validateConfig({
      listeners: [{ name: 'web', port: 0 }],
      routes: t.routes,
      services: t.services,
    });
    assert.ok(valid.ok, JSON.stringify(!valid.ok && valid.issues));
  });

  it('gives an Ingress without proxy-body-size ingress-nginx’s 1m limit', () => {
    assert.equal(translate({ ingresses: [nginxIngress('a', {})] }).routes[0]!.maxBodyBytes, 1024 * 1024);
    assert.equal(
      translate({ ingresses: [nginxIngress('a', { 'proxy-body-size': '0' })] }).routes[0]!.maxBodyBytes,
      0,
    );
  });

  it('translates service annotations: affinity cookie, hashing, balancer, retries, backend protocol', () => {
    const t = translate({
      ingresses: [
        nginxIngress('a', {
          affinity: 'cookie',
          'session-cookie-name': 'route',
          'session-cookie-path': '/shop',
          'session-cookie-max-age': '3600',
          'session-cookie-samesite': 'None',
          'proxy-next-upstream-tries': '3',
          'backend-protocol': 'GRPCS',
        }),
        nginxIngress('b', { 'upstream-hash-by': '$http_x_user' }, { host: 'b.example' }),
        nginxIngress('c', { 'load-balance': 'ewma' }, { host: 'c.example' }),
      ],
    });
    assert.deepEqual(t.codes, []);
    const service = (ingressName: string) => t.services.find((s) => s.name?.includes(`/${ingressName}/`))!;
    assert.deepEqual(service('a').affinity, {
      type: 'cookie',
      cookieName: 'route',
      cookiePath: '/shop',
      ttlSeconds: 3600,
      cookieSameSite: 'None',
      cookieSecure: true,
    });
    assert.deepEqual(service('a').retries, { attempts: 2 });
    assert.equal(service('a').protocol, 'http2');
    assert.deepEqual(service('a').tls, { verify: false });
    assert.deepEqual(service('b').hashKey, { source: 'header', name: 'x-user' });
    assert.equal(service('b').balancer, 'ring-hash');
    assert.equal(service('c').balancer, 'ewma');
  });

  it('basic auth reads the Secret (auth-file and auth-map); a missing Secret leaves no user: 401 for all', () => {
    const file = {
      metadata: { name: 'users', namespace: 'default' },
      data: { auth: Buffer.from('alice:{SHA}x\n# c\nbob:{SHA}y\n').toString('base64') },
    };
    const map = {
      metadata: { name: 'map', namespace: 'default' },
      data: { carol: Buffer.from('{SHA}z').toString('base64') },
    };
    const t = translate({
      ingresses: [
        nginxIngress('a', { 'auth-type': 'basic', 'auth-secret': 'users', 'auth-realm': 'Team' }),
        nginxIngress(
          'b',
          { 'auth-type': 'basic', 'auth-secret': 'map', 'auth-secret-type': 'auth-map' },
          { host: 'b.example' },
        ),
        nginxIngress('c', { 'auth-type': 'basic', 'auth-secret': 'gone' }, { host: 'c.example' }),
      ],
      secrets: [file, map],
    });
    const byHost = new Map(t.routes.map((r) => [r.host, r]));
    assert.deepEqual(byHost.get('app.example')!.basicAuth, {
      realm: 'Team',
      users: ['alice:{SHA}x', 'bob:{SHA}y'],
    });
    assert.deepEqual(byHost.get('b.example')!.basicAuth!.users, ['carol:{SHA}z']);
    const gone = byHost.get('c.example')!.basicAuth!;
    assert.equal(gone.users!.length, 1);
    assert.match(gone.users![0]!, /^portico-no-user:\{SHA\}/);
    assert.deepEqual(t.codes, [
      'PORTICO_KUBE_SECRET_MISSING metadata.annotations["nginx.ingress.kubernetes.io/auth-secret"]',
    ]);
  });

  it('fails closed on what restricts access and cannot be honoured; says so; serves it when allowed', () => {
    const objects = {
      ingresses: [
        nginxIngress('snippet', { 'configuration-snippet': 'deny all;' }),
        nginxIngress('digest', { 'auth-type': 'digest', 'auth-secret': 'x' }, { host: 'd.example' }),
        nginxIngress('range', { 'whitelist-source-range': '10.0.0.0/33' }, { host: 'r.example' }),
        nginxIngress('fine', { 'proxy-buffering': 'on', 'some-new-thing': 'x' }, { host: 'f.example' }),
      ],
    };
    const closed = translate(objects);
    assert.deepEqual(
      closed.routes.map((r) => r.host),
      ['f.example'],
      'only the Ingress without them serves',
    );
    assert.deepEqual(closed.codes.sort(), [
      'PORTICO_KUBE_NGINX_FAIL_CLOSED metadata.annotations["nginx.ingress.kubernetes.io/auth-type"]',
      'PORTICO_KUBE_NGINX_FAIL_CLOSED metadata.annotations["nginx.ingress.kubernetes.io/configuration-snippet"]',
      'PORTICO_KUBE_NGINX_FAIL_CLOSED metadata.annotations["nginx.ingress.kubernetes.io/whitelist-source-range"]',
      'PORTICO_KUBE_NGINX_UNSUPPORTED metadata.annotations["nginx.ingress.kubernetes.io/some-new-thing"]',
    ]);
    const allowed = translate(objects, { allowUnsafeAnnotations: true });
    assert.equal(allowed.routes.length, 4);
    assert.ok(allowed.issues.every((i) => i.code !== 'PORTICO_KUBE_NGINX_FAIL_CLOSED'));
  });

  it('joins a canary Ingress to its main one: header and cookie paths, the rest split by weight', () => {
    const canaryService = service('web-v2', { ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    const canary = (annotations: Record<string, string>) =>
      nginxIngress(
        'canary',
        { canary: 'true', ...annotations },
        { paths: [{ path: '/', service: 'web-v2', port: 80 }] },
      );
    const t = translate({
      ingresses: [
        nginxIngress('main', {}),
        canary({ 'canary-weight': '20', 'canary-by-header': 'X-Canary', 'canary-by-cookie': 'beta' }),
      ],
      services: [canaryService],
    });
    assert.deepEqual(t.codes, []);
    assert.equal(t.routes.length, 1, 'the canary has no route of its own');
    const paths = t.routes[0]!.paths!;
    assert.deepEqual(paths[0]!.backends, [
      { service: 'default/web:80', weight: 80 },
      { service: 'default/web-v2:80', weight: 20 },
    ]);
    assert.deepEqual(
      paths.slice(1).map((p) => [p.service, p.headers]),
      [
        ['default/web-v2:80', [{ name: 'X-Canary', value: 'always' }]],
        ['default/web:80', [{ name: 'X-Canary', value: 'never' }]],
        [
          'default/web-v2:80',
          [{ name: 'cookie', value: '(.*;\\s*)?beta=always(\\s*;.*)?', type: 'RegularExpression' }],
        ],
        [
          'default/web:80',
          [{ name: 'cookie', value: '(.*;\\s*)?beta=never(\\s*;.*)?', type: 'RegularExpression' }],
        ],
      ],
    );
    const valid = validateConfig({
      listeners: [{ name: 'web', port: 0 }],
      routes: t.routes,
      services: t.services,
    });
    assert.ok(valid.ok, JSON.stringify(!valid.ok && valid.issues));
    const byValue = translate({
      ingresses: [
        nginxIngress('main', {}),
        canary({ 'canary-by-header': 'X-Env', 'canary-by-header-value': 'staging' }),
      ],
      services: [canaryService],
    });
    assert.deepEqual(
      byValue.routes[0]!.paths!.map((p) => p.service ?? 'split'),
      ['default/web:80', 'default/web-v2:80'],
    );
    const alone = translate({ ingresses: [canary({ 'canary-weight': '10' })], services: [canaryService] });
    assert.deepEqual(alone.routes, []);
    assert.match(alone.issues[0]!.message, /a canary needs a main Ingress/);
  });

  it('reads nginx sizes, and every annotation in the table has a note and a support level', () => {
    assert.equal(nginxSize('8m'), 8 * 1024 * 1024);
    assert.equal(nginxSize('512k'), 512 * 1024);
    assert.equal(nginxSize('1G'), 1024 ** 3);
    assert.equal(nginxSize('100'), 100);
    assert.equal(nginxSize('1.5m'), undefined);
    for (const [name, a] of Object.entries(NGINX_ANNOTATIONS)) assert.ok(a.note.length > 10, name);
    const { findings } = readNginxAnnotations({ [`${N}proxy-body-size`]: '1x' });
    assert.deepEqual(
      findings.map((f) => f.outcome),
      ['invalid'],
    );
  });
});
