import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRouteTable, hostFromHeader, type RouteSpec } from '@portico/router';

function table(specs: RouteSpec<string>[], defaultTarget?: string) {
  return compileRouteTable(specs, defaultTarget === undefined ? {} : { defaultTarget });
}

describe('RouteTable.match', () => {
  const { table: routes, issues } = table([
    {
      host: 'foo.bar.com',
      paths: [
        { path: '/api', type: 'Prefix', target: 'api' },
        { path: '/', type: 'Prefix', target: 'web' },
      ],
    },
    { host: '*.foo.com', paths: [{ path: '/', type: 'Prefix', target: 'wild' }] },
    { paths: [{ path: '/any', type: 'Exact', target: 'any-exact' }] },
  ]);

  it('compiles without issues', () => assert.deepEqual(issues, []));

  it('routes by exact host, ignoring case and port', () => {
    assert.equal(routes.match('foo.bar.com', '/api/users')?.target, 'api');
    assert.equal(routes.match('FOO.Bar.com:8080', '/api')?.target, 'api');
    assert.equal(routes.match('foo.bar.com', '/apix')?.target, 'web');
  });

  it('matches a wildcard host on exactly one label', () => {
    assert.equal(routes.match('bar.foo.com', '/')?.target, 'wild');
    assert.equal(routes.match('baz.bar.foo.com', '/'), undefined);
    assert.equal(routes.match('foo.com', '/'), undefined);
  });

  it('matches a suffix wildcard (**.) on any number of labels, the longest suffix first', () => {
    const deep = table([
      { host: '**.example.com', paths: [{ path: '/', type: 'Prefix', target: 'deep' }] },
      { host: '**.foo.example.com', paths: [{ path: '/', type: 'Prefix', target: 'deeper' }] },
      { host: '*.bar.example.com', paths: [{ path: '/', type: 'Prefix', target: 'one-label' }] },
      { host: 'exact.foo.example.com', paths: [{ path: '/', type: 'Prefix', target: 'exact' }] },
    ]);
    assert.deepEqual(deep.issues, []);
    const m = (host: string) => deep.table.match(host, '/')?.target;
    assert.equal(m('a.example.com'), 'deep');
    assert.equal(m('a.b.c.example.com'), 'deep');
    assert.equal(m('example.com'), undefined, 'the suffix itself is not under it');
    assert.equal(m('a.foo.example.com'), 'deeper');
    assert.equal(m('x.y.foo.example.com'), 'deeper');
    assert.equal(m('exact.foo.example.com'), 'exact');
    assert.equal(m('a.bar.example.com'), 'one-label');
    assert.equal(m('a.b.bar.example.com'), 'deep', 'the one-label wildcard covers one label only');
    assert.equal(deep.table.selectHost('x.y.foo.example.com').pattern, '**.foo.example.com');
    const changed = deep.table.withHosts(['**.foo.example.com'], []);
    assert.equal(changed.table.match('a.foo.example.com', '/')?.target, 'deep');
  });

  it('sends hosts matched by nothing else to rules without a host', () => {
    assert.equal(routes.match('other.example', '/any')?.target, 'any-exact');
    assert.equal(routes.match('other.example', '/any/'), undefined);
  });

  it('falls back to the default target', () => {
    const withDefault = table(
      [{ host: 'a.example', paths: [{ path: '/x', type: 'Exact', target: 'x' }] }],
      'default',
    );
    assert.equal(withDefault.table.match('a.example', '/y')?.target, 'default');
    assert.equal(withDefault.table.match('b.example', '/x')?.target, 'default');
  });
});

describe('compileRouteTable checks', () => {
  it('drops rules with invalid hosts or paths and reports them as errors', () => {
    const { table: routes, issues } = table([
      { host: '*', paths: [{ path: '/', type: 'Prefix', target: 'a' }] },
      { host: '10.0.0.1', paths: [{ path: '/', type: 'Prefix', target: 'b' }] },
      {
        host: 'ok.example',
        paths: [
          { path: '/a//b', type: 'Prefix', target: 'c' },
          { path: '/fine', type: 'Exact', target: 'd' },
        ],
      },
    ]);
    assert.deepEqual(
      issues.map((i) => `${i.severity} ${i.at}`),
      ['error routes[0].host', 'error routes[1].host', 'error routes[2].paths[0].path'],
    );
    assert.equal(routes.match('ok.example', '/fine')?.target, 'd');
    assert.equal(routes.match('ok.example', '/a//b'), undefined);
  });

  it('warns about a rule that repeats an earlier one and keeps the first', () => {
    const { table: routes, issues } = table([
      { host: 'a.example', paths: [{ path: '/foo', type: 'Prefix', target: 'first' }] },
      { host: 'A.example', paths: [{ path: '/foo/', type: 'Prefix', target: 'second' }] },
    ]);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.severity, 'warning');
    assert.match(issues[0]!.message, /never matches: Prefix \/foo on a\.example \(routes\[0\]\.paths\[0\]\)/);
    assert.equal(routes.match('a.example', '/foo/bar')?.target, 'first');
  });
});

describe('hostFromHeader', () => {
  it('strips ports, brackets and a trailing dot, and lower-cases', () => {
    assert.equal(hostFromHeader('Example.COM:8443'), 'example.com');
    assert.equal(hostFromHeader('example.com.'), 'example.com');
    assert.equal(hostFromHeader('[::1]:80'), '::1');
    assert.equal(hostFromHeader('plain'), 'plain');
  });
});
