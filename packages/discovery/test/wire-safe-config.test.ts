import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigFile, readIngressAnnotations } from '@portico/discovery';

/** CONTROLS are the characters that must never reach the wire from a config string. */
const CONTROLS: Record<string, string> = {
  CR: '\r',
  LF: '\n',
  CRLF: '\r\n',
  NUL: '\u0000',
  VT: '\u000b',
  ESC: '\u001b',
  DEL: '\u007f',
  // Written as latin1, U+010A keeps only its low byte: a line feed.
  'U+010A': '\u010a',
};

const base = () => ({
  listeners: [{ name: 'http', port: 8080 }],
  routes: [{ host: 'a.example', paths: [{ path: '/', service: 'web' }] }] as Record<string, unknown>[],
  services: [{ name: 'web', endpoints: [{ address: '127.0.0.1', port: 9000 }] }] as Record<string, unknown>[],
});

/** FIELDS put a string into each config field that reaches the wire; `at` is the path the issue names. */
const FIELDS: { name: string; at: string; put: (c: ReturnType<typeof base>, v: string) => void }[] = [
  {
    name: 'rewriteTarget',
    at: 'routes[0].rewriteTarget',
    put: (c, v) => (c.routes[0]!['rewriteTarget'] = `/x${v}X-Evil: 1`),
  },
  {
    name: 'redirect.path',
    at: 'routes[0].redirect.path',
    put: (c, v) => (c.routes[0]!['redirect'] = { path: `/x${v}y` }),
  },
  {
    name: 'redirect.host',
    at: 'routes[0].redirect.host',
    put: (c, v) => (c.routes[0]!['redirect'] = { host: `a${v}b.example` }),
  },
  {
    name: 'requestHeaders.set value',
    at: 'routes[0].requestHeaders.set.x-a',
    put: (c, v) => (c.routes[0]!['requestHeaders'] = { set: { 'x-a': `1${v}X-Evil: 1` } }),
  },
  {
    name: 'responseHeaders.add value',
    at: 'routes[0].responseHeaders.add.x-a',
    put: (c, v) => (c.routes[0]!['responseHeaders'] = { add: { 'x-a': `1${v}2` } }),
  },
  {
    name: 'requestHeaders.set name',
    at: 'routes[0].requestHeaders',
    put: (c, v) => (c.routes[0]!['requestHeaders'] = { set: { [`x-a${v}x-b`]: '1' } }),
  },
  {
    name: 'responseHeaders.remove name',
    at: 'routes[0].responseHeaders.remove[0]',
    put: (c, v) => (c.routes[0]!['responseHeaders'] = { remove: [`x${v}y`] }),
  },
  {
    name: 'affinity.cookieName',
    at: 'services[0].affinity.cookieName',
    put: (c, v) => (c.services[0]!['affinity'] = { type: 'cookie', cookieName: `s${v}id` }),
  },
  {
    name: 'affinity.cookiePath',
    at: 'services[0].affinity.cookiePath',
    put: (c, v) => (c.services[0]!['affinity'] = { type: 'cookie', cookiePath: `/a${v}b` }),
  },
  {
    name: 'affinity.headerName',
    at: 'services[0].affinity.headerName',
    put: (c, v) => (c.services[0]!['affinity'] = { type: 'header', headerName: `x${v}y` }),
  },
  {
    name: 'healthCheck.path',
    at: 'services[0].healthCheck.path',
    put: (c, v) => (c.services[0]!['healthCheck'] = { type: 'http', path: `/h${v}X: 1` }),
  },
  {
    name: 'healthCheck.host',
    at: 'services[0].healthCheck.host',
    put: (c, v) => (c.services[0]!['healthCheck'] = { type: 'http', host: `h${v}.example` }),
  },
  {
    name: 'endpoint address',
    at: 'services[0].endpoints[0].address',
    put: (c, v) => (c.services[0]!['endpoints'] = [{ address: `10.0.0.1${v}`, port: 80 }]),
  },
];

describe('config strings that reach the wire are checked at the boundary', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-wire-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts the plain values of every field', async () => {
    const config = base();
    config.routes.push(
      { host: 'b.example', paths: [{ path: '/', service: 'web' }], rewriteTarget: '/v2/$1?x=1' },
      {
        host: 'c.example',
        paths: [{ path: '/', service: 'web' }],
        redirect: { host: 'new.example', path: '/landing' },
        requestHeaders: { set: { 'X-Env': 'prod "eu" \t1' }, remove: ['x-drop'] },
      },
    );
    config.services[0]!['affinity'] = { type: 'cookie', cookieName: 'sid', cookiePath: '/app' };
    config.services[0]!['healthCheck'] = { type: 'http', path: '/healthz?full=1', host: 'web.internal:8080' };
    config.services.push({
      name: 'dns',
      endpoints: [
        { address: 'pod-1.web.svc', port: 80 },
        { address: '::1', port: 80 },
      ],
    });
    const file = join(dir, 'good.json');
    await writeFile(file, JSON.stringify(config));
    const loaded = await loadConfigFile(file);
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.map((p) => p.message).join('\n'));
  });

  for (const field of FIELDS) {
    it(`refuses ${field.name} with any control character, naming the field`, async () => {
      for (const [label, ch] of Object.entries(CONTROLS)) {
        const config = base();
        field.put(config, ch);
        const file = join(dir, `bad-${label}.json`);
        await writeFile(file, JSON.stringify(config));
        const loaded = await loadConfigFile(file);
        assert.equal(loaded.ok, false, `${field.name} with ${label} passed`);
        if (loaded.ok) continue;
        assert.ok(
          loaded.problems.some((p) => p.path === field.at),
          `${field.name} with ${label}: ${loaded.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
        );
        for (const p of loaded.problems)
          assert.doesNotMatch(p.message, /[\r\n\u0000]/, 'messages are one line');
      }
    });
  }

  it('refuses an endpoint address that is neither an IP nor a DNS name', async () => {
    for (const address of ['not an ip!', '999.1.1.1', 'a..b', '-x.example']) {
      const config = base();
      config.services[0]!['endpoints'] = [{ address, port: 80 }];
      const file = join(dir, 'addr.yaml');
      await writeFile(file, JSON.stringify(config));
      const loaded = await loadConfigFile(file);
      assert.equal(loaded.ok, false, address);
    }
  });
});

describe('annotations that reach the wire are checked', () => {
  const WIRE_ANNOTATIONS: Record<string, (v: string) => string> = {
    'portico.dev/rewrite-target': (v) => `/x${v}X-Evil: 1`,
    'portico.dev/health-check-path': (v) => `/h${v}X: 1`,
    'portico.dev/affinity-cookie-name': (v) => `s${v}id`,
    'portico.dev/permanent-redirect': (v) => `https://new.example/a${v}b`,
  };

  for (const [key, make] of Object.entries(WIRE_ANNOTATIONS)) {
    it(`${key} with a control character is an issue for that Ingress and is not applied`, () => {
      for (const [label, ch] of Object.entries(CONTROLS)) {
        const s = readIngressAnnotations({ [key]: make(ch) });
        if (key.endsWith('redirect') && label === 'U+010A') {
          // Not a control: URL parsing percent-encodes it, so the Location stays ASCII.
          assert.equal(s.route.redirect?.path, '/a%C4%8Ab');
          continue;
        }
        assert.deepEqual(
          s.issues.map((i) => [i.code, i.field]),
          [['PORTICO_KUBE_ANNOTATION_INVALID', `metadata.annotations["${key}"]`]],
          `${key} with ${label}`,
        );
        assert.doesNotMatch(s.issues[0]!.message, /[\r\n\u0000]/);
        assert.equal(s.route.rewriteTarget, undefined);
        assert.equal(s.service.healthCheck, undefined);
        assert.equal(s.service.affinity, undefined);
      }
    });
  }
});
