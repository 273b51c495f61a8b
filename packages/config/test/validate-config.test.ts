import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_LIMITS,
  DEFAULT_TIMEOUTS,
  PorticoConfigError,
  parseConfig,
  validateConfig,
} from '@portico/config';

const minimal = {
  listeners: [{ name: 'http', port: 8080 }],
  routes: [{ host: 'a.example', paths: [{ path: '/', service: 'web' }] }],
  services: [{ name: 'web', endpoints: [{ address: '127.0.0.1', port: 9000 }] }],
};

function messages(input: unknown): string[] {
  const result = validateConfig(input);
  assert.equal(result.ok, false);
  return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('validateConfig', () => {
  it('fills every default from defaults.ts without touching the input', () => {
    const input = structuredClone(minimal);
    const result = validateConfig(input);
    assert.ok(result.ok);
    assert.deepEqual(input, minimal);
    assert.equal(result.config.listeners[0]!.address, '0.0.0.0');
    assert.equal(result.config.routes[0]!.paths[0]!.type, 'Prefix');
    assert.equal(result.config.services[0]!.endpoints[0]!.weight, 1);
    assert.equal(result.config.services[0]!.balancer, 'round-robin');
    assert.deepEqual(result.config.timeouts, DEFAULT_TIMEOUTS);
    assert.deepEqual(result.config.limits, DEFAULT_LIMITS);
  });

  it('names the JSON path and the allowed values of a bad enum', () => {
    const input = structuredClone(minimal) as Record<string, unknown>;
    input['routes'] = [
      { paths: [{ path: '/', service: 'web' }] },
      { paths: [{ path: '/', service: 'web' }] },
      { paths: [{ path: '/x', type: 'Regex', service: 'web' }] },
    ];
    assert.deepEqual(messages(input), [
      'routes[2].paths[0].type: must be one of Exact, Prefix, ImplementationSpecific, got "Regex"',
    ]);
  });

  it('reports unknown fields, wrong types, missing fields and out-of-range numbers together', () => {
    const found = messages({
      listeners: [{ name: 'http', port: 70000, adress: '0.0.0.0' }],
      routes: [{ hots: 'x', paths: [{ path: 'nope', service: 'web' }] }],
      services: [{ name: 'web', endpoints: [{ address: '127.0.0.1', port: '80' }] }, { endpoints: [] }],
    });
    assert.deepEqual(found.sort(), [
      'listeners[0].port: must be <= 65535, got 70000',
      'listeners[0]: unknown field "adress" (did you mean "address"?)',
      'routes[0].paths[0].path: must start with "/", got "nope"',
      'routes[0]: unknown field "hots" (did you mean "host"?)',
      'services[0].endpoints[0].port: must be integer, got "80"',
      'services[1]: missing required field "name"',
    ]);
  });

  it('checks the listener limits on what one client address causes and on handshakes in progress', () => {
    const result = validateConfig(minimal);
    assert.ok(result.ok);
    assert.deepEqual(result.config.listeners[0]!.perSource, {
      newConnectionsPerSecond: 0,
      resetStreamsPerSecond: 200,
    });
    assert.equal(result.config.listeners[0]!.maxConcurrentHandshakes, 0);
    const found = messages({
      ...minimal,
      listeners: [
        {
          name: 'http',
          port: 8080,
          perSource: { newConnectionsPerSecond: -1, resetStreamsPerSecond: 1.5, resetsPerSecond: 3 },
          maxConcurrentHandshakes: '32',
        },
      ],
    });
    assert.deepEqual(found.sort(), [
      'listeners[0].maxConcurrentHandshakes: must be integer, got "32"',
      'listeners[0].perSource.newConnectionsPerSecond: must be >= 0, got -1',
      'listeners[0].perSource.resetStreamsPerSecond: must be integer, got 1.5',
      'listeners[0].perSource: unknown field "resetsPerSecond"',
    ]);
  });

  it('reports references to services that do not exist, and duplicates', () => {
    const found = messages({
      listeners: [
        { name: 'http', port: 80 },
        { name: 'http', port: 80 },
      ],
      routes: [{ paths: [{ path: '/', service: 'api' }] }],
      services: [{ name: 'web' }, { name: 'web' }],
      defaultService: 'fallback',
    });
    assert.deepEqual(found, [
      'listeners[1].name: duplicates listeners[0].name',
      'listeners[1].port: 0.0.0.0:80 is already bound by listeners[0]',
      'services[1].name: duplicates services[0].name',
      'routes[0].paths[0].service: no service named "api" (known: web)',
      'defaultService: no service named "fallback" (known: web)',
    ]);
  });

  it('parseConfig throws a PorticoConfigError naming the source', () => {
    assert.throws(
      () => parseConfig({ listeners: [] }, 'portico.yaml'),
      (error: unknown) =>
        error instanceof PorticoConfigError &&
        error.code === 'PORTICO_CONFIG_INVALID' &&
        error.message.includes('portico.yaml is invalid') &&
        error.message.includes('listeners: must have at least 1 item'),
    );
  });

  it('rejects a document that is not an object', () => {
    assert.deepEqual(messages('listeners: []'), [': must be object, got "listeners: []"']);
  });

  it('asks each path for a service or weighted backends, and lets only a redirect route have neither', () => {
    const services = [
      { name: 'web', endpoints: [] },
      { name: 'canary', endpoints: [] },
    ];
    const listeners = minimal.listeners;
    assert.deepEqual(
      messages({
        listeners,
        services,
        routes: [
          { paths: [{ path: '/a' }] },
          { paths: [{ path: '/b', service: 'web', backends: [{ service: 'canary' }] }] },
          { paths: [{ path: '/c', backends: [{ service: 'web', weight: 9 }, { service: 'nope' }] }] },
        ],
      }).sort(),
      [
        "routes[0].paths[0]: needs a `service` or `backends` (only a path with a `redirect`, its own or its route's, may have neither)",
        'routes[1].paths[0]: give either `service` or `backends`, not both',
        'routes[2].paths[0].backends[1].service: no service named "nope" (known: web, canary)',
      ],
    );
    assert.deepEqual(
      messages({
        listeners,
        services,
        routes: [{ paths: [{ path: '/', backends: [{ service: 'web', weight: -1 }] }] }],
      }),
      ['routes[0].paths[0].backends[0].weight: must be >= 0, got -1'],
    );
    const ok = validateConfig({
      listeners,
      services,
      routes: [
        { host: 'old.example', paths: [{ path: '/' }], redirect: { host: 'new.example' } },
        { paths: [{ path: '/', backends: [{ service: 'web', weight: 90 }, { service: 'canary' }] }] },
      ],
    });
    assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.issues));
    assert.equal(ok.config.routes[1]!.paths[0]!.backends![1]!.weight, 1, 'weight defaults to 1');
  });

  it('refuses bad path filters: two in one entry, unknown ones, repeats, a redirect with a rewrite, unsafe values', () => {
    const listeners = minimal.listeners;
    const services = [{ name: 'web', endpoints: [] }];
    // Right in form, wrong in what they say: found once the schema passes.
    const contradicting = [
      {
        path: '/b',
        type: 'Exact',
        service: 'web',
        filters: [
          { requestHeaders: { set: { a: '1' } } },
          { requestHeaders: { remove: ['b'] } },
          { rewrite: { prefix: '/x' } },
          { redirect: { path: '/y' } },
          { mirror: { service: 'nowhere' } },
          { mirror: { service: 'web' } },
        ],
      },
      { path: '/c', filters: [{ responseHeaders: { set: { 'content-length': '1' } } }] },
    ];
    const malformed = [
      {
        path: '/a',
        service: 'web',
        filters: [
          { requestHeaders: { set: { a: '1' } }, responseHeaders: { set: { b: '2' } } },
          { compress: {} },
          {},
        ],
      },
      ...contradicting,
      { path: '/d', filters: [{ requestHeaders: { add: { 'x-a': 'v\r\nx-injected: 1' } } }] },
    ];
    const one =
      'must name exactly one filter: requestHeaders, responseHeaders, redirect, rewrite, mirror, timeouts, retries';
    assert.deepEqual(messages({ listeners, services, routes: [{ paths: malformed }] }).sort(), [
      `routes[0].paths[0].filters[0]: ${one}`,
      'routes[0].paths[0].filters[1]: unknown field "compress"',
      `routes[0].paths[0].filters[2]: ${one}`,
      'routes[0].paths[3].filters[0].requestHeaders.add.x-a: must hold only visible ASCII, spaces and tabs (no CR, LF, NUL or other controls), got "v\\r\\nx-injected: 1"',
    ]);
    assert.deepEqual(messages({ listeners, services, routes: [{ paths: contradicting }] }).sort(), [
      'routes[0].paths[0].filters: a `redirect` answers the request itself: it cannot be combined with `rewrite`',
      'routes[0].paths[0].filters[1]: a second `requestHeaders` filter: only `mirror` may be given more than once',
      'routes[0].paths[0].filters[2].rewrite.prefix: `prefix` replaces a matched prefix: use a Prefix path',
      'routes[0].paths[0].filters[4].mirror.service: no service named "nowhere" (known: web)',
      'routes[0].paths[1].filters[0].responseHeaders: "content-length" is managed by Portico (framing, Host, connection handling) and cannot be changed',
      "routes[0].paths[1]: needs a `service` or `backends` (only a path with a `redirect`, its own or its route's, may have neither)",
    ]);
  });

  it('refuses a redirect prefix with a path, or on a path that matched no prefix', () => {
    const listeners = [{ name: 'web', port: 0 }];
    const routes = [
      {
        paths: [
          { path: '/a', type: 'Exact', filters: [{ redirect: { prefix: '/b' } }] },
          { path: '/c', filters: [{ redirect: { prefix: '/d', path: '/e' } }] },
          { path: '/f', filters: [{ redirect: { prefix: 'no-slash' } }] },
        ],
      },
      {
        redirect: { prefix: '/g', path: '/h' },
        paths: [{ path: '/i', regex: true, type: 'ImplementationSpecific' }],
      },
    ];
    assert.deepEqual(messages({ listeners, services: [], routes }).sort(), [
      'routes[0].paths[2].filters[0].redirect.prefix: must start with "/" and hold only visible ASCII (no spaces, control characters or non-ASCII), got "no-slash"',
    ]);
    routes[0]!.paths.pop();
    assert.deepEqual(messages({ listeners, services: [], routes }).sort(), [
      'routes[0].paths[0].filters[0].redirect.prefix: `prefix` replaces a matched prefix: use a Prefix path',
      'routes[0].paths[1].filters[0].redirect: give either `path` or `prefix`, not both',
      'routes[1].paths[0].type: `redirect.prefix` replaces a matched prefix: use Prefix paths',
      'routes[1].redirect: give either `path` or `prefix`, not both',
    ]);
  });

  it('refuses bad access lists and rate limits, naming each field', () => {
    assert.deepEqual(
      messages({
        listeners: [
          { name: 'web', port: 0, access: { allow: ['10.0.0.0/33'] } },
          { name: 'raw', port: 0, protocol: 'tcp', service: 'web', access: { deny: ['10.0.0.1'] } },
        ],
        services: [{ name: 'web', endpoints: [] }],
        routes: [
          { access: { deny: ['evil\r\n', '::1'] }, paths: [{ path: '/', service: 'web' }] },
          {
            rateLimit: { requestsPerSecond: 1, requestsPerMinute: 60 },
            paths: [{ path: '/a', service: 'web' }],
          },
          { rateLimit: { burst: 5, key: 'header' }, paths: [{ path: '/b', service: 'web' }] },
          { rateLimit: { requestsPerSecond: 2, header: 'x-key' }, paths: [{ path: '/c', service: 'web' }] },
          { inFlight: { status: 503 }, paths: [{ path: '/d', service: 'web' }] },
        ],
      }).sort(),
      [
        'listeners[0].access.allow[0]: "10.0.0.0/33" is not an IPv4 or IPv6 address or CIDR',
        'listeners[1].access: only http and https listeners take an access list',
        'routes[0].access.deny[0]: "evil\\r\\n" is not an IPv4 or IPv6 address or CIDR',
        'routes[1].rateLimit: give either `requestsPerSecond` or `requestsPerMinute`',
        'routes[2].rateLimit: give either `requestsPerSecond` or `requestsPerMinute`',
        'routes[2].rateLimit: key `header` needs `header`: the header to key on',
        'routes[3].rateLimit.header: only key `header` takes a header',
        'routes[4].inFlight: give `max`, `maxPerClient` or both',
      ],
    );
    assert.deepEqual(
      messages({
        listeners: minimal.listeners,
        services: [{ name: 'web', endpoints: [] }],
        routes: [
          { rateLimit: { requestsPerSecond: 0, status: 418 }, paths: [{ path: '/', service: 'web' }] },
        ],
      }).sort(),
      [
        'routes[0].rateLimit.requestsPerSecond: must be > 0, got 0',
        'routes[0].rateLimit.status: must be one of 429, 503, got 418',
      ],
    );
  });

  it('refuses CORS origins that are not origins, "*" with credentials, and bad patterns', () => {
    const services = [{ name: 'web', endpoints: [] }];
    const withCors = (cors: Record<string, unknown>) => ({
      listeners: minimal.listeners,
      services,
      routes: [{ cors, paths: [{ path: '/', service: 'web' }] }],
    });
    assert.deepEqual(
      messages(withCors({ allowOrigins: ['https://ok.example'], allowHeaders: ['bad header'] })),
      [
        'routes[0].cors.allowHeaders[0]: must be a token: letters, digits and !#$%&\'*+.^_`|~-, got "bad header"',
      ],
    );
    assert.deepEqual(
      messages(
        withCors({
          allowOrigins: ['https://ok.example', 'app.example', '*', 'https://a.example/path'],
          allowCredentials: true,
          allowOriginPatterns: ['(unclosed'],
        }),
      ).sort(),
      [
        'routes[0].cors.allowOriginPatterns[0]: not a valid regular expression: Invalid regular expression: /(unclosed/: Unterminated group',
        'routes[0].cors.allowOrigins: with `allowCredentials`, "*" is refused by browsers: list the origins',
        'routes[0].cors.allowOrigins[1]: "app.example" is not an origin (scheme://host[:port], a "*." subdomain wildcard, or "*")',
        'routes[0].cors.allowOrigins[3]: "https://a.example/path" is not an origin (scheme://host[:port], a "*." subdomain wildcard, or "*")',
      ],
    );
  });

  it('refuses tracing settings it cannot use, without ever repeating an export header', () => {
    const bad = messages({
      listeners: minimal.listeners,
      tracing: {
        sampleRatio: 1.5,
        serviceName: 'with space',
        otlp: { endpoint: 'collector:4318', headers: { 'x-api-key': 'hunter2\r\n' }, timeoutMs: 0 },
      },
    }).sort();
    assert.equal(bad.length, 5, bad.join('\n'));
    assert.ok(
      bad.every((m) => !m.includes('hunter2')),
      'the headers, a secret, are never repeated',
    );
    assert.match(bad.join('\n'), /tracing\.sampleRatio: must be <= 1, got 1\.5/);
    assert.match(bad.join('\n'), /tracing\.otlp\.endpoint: /);
    assert.match(bad.join('\n'), /tracing\.otlp\.timeoutMs: must be >= 1, got 0/);
    const defaults = validateConfig({ listeners: minimal.listeners, tracing: {} });
    assert.ok(defaults.ok);
    assert.deepEqual(defaults.config.tracing, { sampleRatio: 0.1, serviceName: 'portico' });
  });

  it('refuses a global rate limit without a store, or with a burst, and a store it cannot use', () => {
    const base = { listeners: minimal.listeners, services: [{ name: 'web', endpoints: [] }] };
    const store = { redis: { url: 'redis://:password@cache:6379/0' } };
    const limit = (rateLimit: Record<string, unknown>) => [
      { rateLimit, paths: [{ path: '/', service: 'web' }] },
    ];
    assert.deepEqual(messages({ ...base, routes: limit({ requestsPerSecond: 5, global: true }) }), [
      'routes[0].rateLimit.global: a global limit needs `rateLimitStore`: the Redis server instances share',
    ]);
    assert.deepEqual(
      messages({
        ...base,
        rateLimitStore: store,
        routes: limit({ requestsPerSecond: 5, global: true, burst: 9 }),
      }),
      [
        'routes[0].rateLimit.burst: a global limit counts per window (second or minute): `burst` is for local limits',
      ],
    );
    const bad = messages({
      ...base,
      rateLimitStore: { redis: { url: 'http://user:hunter2@cache:6379' }, syncIntervalMs: 0 },
      routes: limit({ requestsPerSecond: 5, global: true, onStoreFailure: 'maybe' }),
    }).sort();
    assert.equal(bad.length, 3, bad.join('\n'));
    assert.ok(
      bad.every((m) => !m.includes('hunter2')),
      'the URL, a secret, is never repeated',
    );
    assert.match(bad.join('\n'), /onStoreFailure: must be one of local, allow, deny, got "maybe"/);
    assert.match(bad.join('\n'), /rateLimitStore\.syncIntervalMs: must be >= 1, got 0/);
    assert.match(bad.join('\n'), /rateLimitStore\.redis\.url: /);
  });

  it('refuses forward auth settings that are not URLs or header names', () => {
    const problems = messages({
      listeners: minimal.listeners,
      services: [{ name: 'web', endpoints: [] }],
      routes: [
        {
          forwardAuth: {
            url: 'auth.example/verify',
            signInUrl: 'javascript:alert(1)',
            responseHeaders: ['X-User\r\nX-Admin: 1'],
            requestHeaders: ['bad header'],
            method: 'POST',
            cache: { ttlMs: 0, keyHeaders: [] },
          },
          paths: [{ path: '/', service: 'web' }],
        },
      ],
    }).sort();
    assert.equal(problems.length, 7, problems.join('\n'));
    for (const field of [
      'url',
      'signInUrl',
      'responseHeaders[0]',
      'requestHeaders[0]',
      'method',
      'cache.ttlMs',
      'cache.keyHeaders',
    ])
      assert.ok(
        problems.some((p) => p.startsWith(`routes[0].forwardAuth.${field}:`)),
        `${field} is named: ${problems.join('\n')}`,
      );
  });

  it('refuses error pages without exactly one source, or for statuses that are not errors', () => {
    const base = { listeners: minimal.listeners, services: [{ name: 'web', endpoints: [] }] };
    assert.deepEqual(
      messages({
        ...base,
        errorPages: [{ statuses: [404], body: 'x', url: 'http://render.example/' }],
        routes: [{ errorPages: [{ statuses: [502] }], paths: [{ path: '/', service: 'web' }] }],
      }).sort(),
      [
        'errorPages[0]: give exactly one of `body`, `file`, `url` and `service`',
        'routes[0].errorPages[0]: give exactly one of `body`, `file`, `url` and `service`',
      ],
    );
    const bad = messages({
      ...base,
      errorPages: [{ statuses: [200, 404, 404], body: 'x', contentType: 'text/html\r\nx: y' }],
    }).sort();
    assert.equal(bad.length, 3, bad.join('\n'));
    assert.match(bad.join('\n'), /errorPages\[0\]\.statuses\[0\]: must be >= 400, got 200/);
    assert.match(bad.join('\n'), /errorPages\[0\]\.contentType: /);
  });

  it('refuses compression settings it cannot honour', () => {
    const problems = messages({
      listeners: minimal.listeners,
      services: [{ name: 'web', endpoints: [] }],
      routes: [
        {
          compression: {
            encodings: ['gzip', 'deflate', 'gzip'],
            contentTypes: ['Text/HTML', 'text', 'text/*', 'a/b\r\nx: y'],
            gzipLevel: 10,
            brotliQuality: -1,
            minBytes: -5,
          },
          paths: [{ path: '/', service: 'web' }],
        },
      ],
    }).sort();
    const media =
      'must be a lower-case media type ("text/html") or a whole type ("text/*"), without parameters';
    assert.deepEqual(problems, [
      'routes[0].compression.brotliQuality: must be >= 0, got -1',
      `routes[0].compression.contentTypes[0]: ${media}, got "Text/HTML"`,
      `routes[0].compression.contentTypes[1]: ${media}, got "text"`,
      `routes[0].compression.contentTypes[3]: ${media}, got "a/b\\r\\nx: y"`,
      'routes[0].compression.encodings: must NOT have duplicate items (items ## 2 and 0 are identical)',
      'routes[0].compression.encodings: must NOT have more than 2 items',
      'routes[0].compression.encodings[1]: must be one of br, gzip, got "deflate"',
      'routes[0].compression.gzipLevel: must be <= 9, got 10',
      'routes[0].compression.minBytes: must be >= 0, got -5',
    ]);
  });

  it('refuses bad basic auth settings without ever repeating a password hash', () => {
    const hash = '$apr1$abcdefgh$0123456789012345678901';
    const problems = messages({
      listeners: minimal.listeners,
      services: [{ name: 'web', endpoints: [] }],
      routes: [
        {
          basicAuth: { users: ['alice:plain-text-secret', 'no-colon', `bob:${hash}`, 'carol:xyZ.crypt'] },
          paths: [{ path: '/', service: 'web' }],
        },
        {
          basicAuth: { users: [`bob:${hash}`], htpasswdFile: '/etc/htpasswd' },
          paths: [{ path: '/a', service: 'web' }],
        },
        { basicAuth: {}, paths: [{ path: '/b', service: 'web' }] },
      ],
    }).sort();
    assert.deepEqual(problems, [
      'routes[0].basicAuth.users[0]: has a hash that is not bcrypt ($2y$), apr1 ($apr1$) or SHA-1 ({SHA}); crypt and plain text are refused',
      'routes[0].basicAuth.users[1]: is not "user:hash"',
      'routes[0].basicAuth.users[3]: has a hash that is not bcrypt ($2y$), apr1 ($apr1$) or SHA-1 ({SHA}); crypt and plain text are refused',
      'routes[1].basicAuth: give either `htpasswdFile` or `users`',
      'routes[2].basicAuth: give either `htpasswdFile` or `users`',
    ]);
    assert.ok(!problems.join('\n').includes('plain-text-secret'));
    assert.deepEqual(
      messages({
        listeners: minimal.listeners,
        services: [{ name: 'web', endpoints: [] }],
        routes: [
          { basicAuth: { realm: 'a"b', users: [`bob:${hash}`] }, paths: [{ path: '/', service: 'web' }] },
        ],
      }),
      [
        'routes[0].basicAuth.realm: must be 1 to 128 visible ASCII characters or spaces, other than " and \\, got "a\\"b"',
      ],
    );
  });

  it('takes workers as a count or "auto", and names both when given something else', () => {
    for (const workers of [0, 'many', 2.5, 2_000])
      assert.deepEqual(messages({ listeners: minimal.listeners, workers }), [
        `workers: must be an integer 1..1024 or "auto", got ${JSON.stringify(workers)}`,
      ]);
    for (const workers of [1, 8, 'auto']) {
      const result = validateConfig({ listeners: minimal.listeners, workers });
      assert.ok(result.ok && result.config.workers === workers);
    }
    const defaulted = validateConfig({ listeners: minimal.listeners });
    assert.ok(defaulted.ok && defaulted.config.workers === 1);
  });

  it('refuses bad listener hostnames and routes kept to listeners that do not serve HTTP', () => {
    assert.deepEqual(
      messages({
        listeners: [
          { name: 'web', port: 0, hostnames: ['shop.example', 'a b.example', 'x.*.example', 'evil\r\nx'] },
          { name: 'raw', port: 0, protocol: 'tcp', service: 'web', hostnames: ['shop.example'] },
        ],
        services: [{ name: 'web', endpoints: [] }],
        routes: [{ listeners: ['raw', 'nowhere', 'web'], paths: [{ path: '/', service: 'web' }] }],
      }).sort(),
      [
        'listeners[0].hostnames[1]: must be a DNS name (letters, digits, "-" and dots) or a wildcard "*.example.com", got "a b.example"',
        'listeners[0].hostnames[2]: must be a DNS name (letters, digits, "-" and dots) or a wildcard "*.example.com", got "x.*.example"',
        'listeners[0].hostnames[3]: must be a DNS name (letters, digits, "-" and dots) or a wildcard "*.example.com", got "evil\\r\\nx"',
      ],
    );
    assert.deepEqual(
      messages({
        listeners: [
          { name: 'web', port: 0, hostnames: ['*.example.com', '10.0.0.1', `${'a'.repeat(64)}.example`] },
          { name: 'raw', port: 0, protocol: 'tcp', service: 'web', hostnames: ['shop.example'] },
        ],
        services: [{ name: 'web', endpoints: [] }],
        routes: [{ listeners: ['raw', 'nowhere', 'web'], paths: [{ path: '/', service: 'web' }] }],
      }).sort(),
      [
        'listeners[0].hostnames[1]: "10.0.0.1" is an IP address; hostnames are DNS names',
        `listeners[0].hostnames[2]: label "${'a'.repeat(20)}..." is longer than 63 characters`,
        'listeners[1].hostnames: only http and https listeners serve hostnames (tls-passthrough routes by `sni`)',
        'routes[0].listeners[0]: no http or https listener named "raw" (known: web)',
        'routes[0].listeners[1]: no http or https listener named "nowhere" (known: web)',
      ],
    );
  });

  it('refuses bad matches, rewrites, mirrors, protocols and request timeouts, naming each field', () => {
    const listeners = minimal.listeners;
    assert.deepEqual(
      messages({
        listeners,
        timeouts: { requestMs: -1 },
        services: [
          { name: 'web', endpoints: [] },
          { name: 'web2', protocol: 'http3', endpoints: [] },
        ],
        routes: [
          {
            paths: [
              {
                path: '/',
                service: 'web',
                method: 'BREW',
                headers: [{ name: 'x a', value: 'v\r\nx-injected: 1' }],
                queryParams: [{ name: 'a&b', value: '1' }],
              },
            ],
            rewrite: { host: 'evil.example\r\nx: 1', fullPath: '/a b\u010a' },
            mirror: { service: 'web', percent: 101 },
          },
        ],
      }).sort(),
      [
        'routes[0].mirror.percent: must be <= 100, got 101',
        'routes[0].paths[0].headers[0].name: must be a token: letters, digits and !#$%&\'*+.^_`|~-, got "x a"',
        'routes[0].paths[0].headers[0].value: must hold only visible ASCII, spaces and tabs (no CR, LF, NUL or other controls), got "v\\r\\nx-injected: 1"',
        'routes[0].paths[0].method: must be one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE, got "BREW"',
        'routes[0].paths[0].queryParams[0].name: must hold only visible ASCII other than "&" and "=", got "a&b"',
        'routes[0].rewrite.fullPath: must start with "/" and hold only visible ASCII (no spaces, control characters or non-ASCII), got "/a b\u010a"',
        'routes[0].rewrite.host: must be a DNS name or a bracketed IPv6 address, with an optional :port, got "evil.example\\r\\nx: 1"',
        'services[1].protocol: must be one of http1, http2, got "http3"',
        'timeouts.requestMs: must be >= 0, got -1',
      ],
    );
    assert.deepEqual(
      messages({
        listeners,
        services: [{ name: 'web', endpoints: [] }],
        routes: [
          {
            paths: [
              {
                path: '/',
                service: 'web',
                headers: [{ name: 'x', value: '(', type: 'RegularExpression' }],
                queryParams: [{ name: 'q', value: '[', type: 'RegularExpression' }],
              },
            ],
          },
        ],
      }),
      [
        'routes[0].paths[0].headers[0].value: not a valid regular expression: Invalid regular expression: /(/: Unterminated group',
        'routes[0].paths[0].queryParams[0].value: not a valid regular expression: Invalid regular expression: /[/: Unterminated character class',
      ],
    );
  });
  it('refuses bad values in the acme section and the TLS ticket and stapling fields, naming each', () => {
    assert.deepEqual(
      messages({
        listeners: [
          { name: 'http', port: 8080 },
          {
            name: 's',
            port: 8443,
            protocol: 'https',
            tls: { sessionTicketKeyFile: '', ocspStapling: 'yes' },
          },
        ],
        services: [],
        acme: {
          directoryUrl: 'http://ca.example/dir',
          email: 'ops@ex\r\nample',
          hosts: ['*.shop.example', 'shop\r\n.example', 'a.example', 'a.example'],
          challenge: 'dns-01',
          renewAtRatio: 0,
          storageDir: '',
        },
      }),
      [
        'listeners[1].tls.sessionTicketKeyFile: must not be empty',
        'listeners[1].tls.ocspStapling: must be boolean, got "yes"',
        'acme.directoryUrl: must match ^https://[!-~]+$, got "http://ca.example/dir"',
        'acme.email: must match ^[^\\s@]+@[^\\s@]+$, got "ops@ex\\r\\nample"',
        'acme.storageDir: must not be empty',
        'acme.hosts[0]: must be a DNS name or a bracketed IPv6 address, got "*.shop.example"',
        'acme.hosts[1]: must be a DNS name or a bracketed IPv6 address, got "shop\\r\\n.example"',
        'acme.hosts: must NOT have duplicate items (items ## 3 and 2 are identical)',
        'acme.challenge: must be one of http-01, tls-alpn-01, got "dns-01"',
        'acme.renewAtRatio: must be > 0, got 0',
      ],
    );
  });
});
