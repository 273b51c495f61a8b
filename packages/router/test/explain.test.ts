import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRouteTable, explain } from '@portico/router';

const { table } = compileRouteTable(
  [
    {
      host: 'shop.example',
      paths: [
        { path: '/', type: 'Prefix', target: 'web' },
        { path: '/aaa', type: 'Prefix', target: 'aaa' },
        { path: '/aaa/bbb', type: 'Exact', target: 'exact' },
        { path: '/aaa/bbb', type: 'Prefix', target: 'prefix' },
      ],
    },
    { host: '*.example', paths: [{ path: '/', type: 'Prefix', target: 'wild' }] },
    { host: 'other.example', paths: [{ path: '/', type: 'Prefix', target: 'other' }] },
    { paths: [{ path: '/', type: 'Prefix', target: 'catch-all' }] },
  ],
  { defaultTarget: 'fallback' },
);

function verdictsOf(host: string, path: string) {
  const result = explain(table, host, path);
  return {
    result,
    byId: Object.fromEntries(result.verdicts.map((v) => [v.rule.id, `${v.verdict}: ${v.reason}`])),
  };
}

describe('explain', () => {
  it('names the winning rule and why each other rule lost', () => {
    const { result, byId } = verdictsOf('Shop.Example:8080', '/aaa/bbb');
    assert.equal(result.host, 'shop.example');
    assert.equal(result.hostSelection, 'exact');
    assert.equal(result.match?.target, 'exact');
    assert.equal(result.usedDefault, false);
    assert.deepEqual(byId, {
      'routes[0].paths[0]': 'shorter: matches only 0 characters; /aaa/bbb matches 8',
      'routes[0].paths[1]': 'shorter: matches only 4 characters; /aaa/bbb matches 8',
      'routes[0].paths[2]': 'matched: Exact /aaa/bbb on shop.example matches /aaa/bbb (8 characters)',
      'routes[0].paths[3]':
        'tied: matches 8 characters too; Exact /aaa/bbb wins the tie (Exact, then Prefix, then regex)',
      'routes[1].paths[0]': 'other-host: *.example matches too, but the exact host shop.example wins',
      'routes[2].paths[0]': 'other-host: host other.example is not shop.example',
      'routes[3].paths[0]':
        'other-host: rules without a host apply only to hosts no rule names; shop.example selects shop.example',
    });
  });

  it('explains a wildcard selection and rules that do not match', () => {
    const { result, byId } = verdictsOf('a.b.example', '/x');
    assert.equal(result.hostSelection, 'any');
    assert.equal(result.match?.target, 'catch-all');
    assert.equal(
      byId['routes[1].paths[0]'],
      'other-host: *.example covers exactly one label, not a.b.example',
    );
  });

  it('agrees with match on every rule of a table, and reports the default', () => {
    for (const [host, path] of [
      ['shop.example', '/aaa/x'],
      ['shop.example', '/aaax'],
      ['z.example', '/'],
      ['nowhere', '/q'],
    ] as const) {
      const result = explain(table, host, path);
      assert.equal(result.match, table.match(host, path));
      assert.equal(
        result.verdicts.filter((v) => v.verdict === 'matched').length,
        result.match === table.defaultRule ? 0 : 1,
      );
    }
    const noRules = compileRouteTable(
      [{ host: 'a.example', paths: [{ path: '/x', type: 'Exact', target: 'x' }] }],
      { defaultTarget: 'fallback' },
    );
    const result = explain(noRules.table, 'a.example', '/y');
    assert.equal(result.usedDefault, true);
    assert.equal(result.verdicts[0]!.verdict, 'no-match');
    assert.equal(result.verdicts[0]!.reason, 'Exact /x needs the whole path to be /x (case-sensitive)');
  });
});

describe('ImplementationSpecific', () => {
  it('is Prefix unless regex is asked for', () => {
    const { table: t } = compileRouteTable([
      { paths: [{ path: '/docs', type: 'ImplementationSpecific', target: 'docs' }] },
    ]);
    assert.equal(t.match('h', '/docs/a')?.target, 'docs');
    assert.equal(t.match('h', '/docsx'), undefined);
  });

  it('with regex: matches from the start of the path and competes by matched length', () => {
    const { table: t, issues } = compileRouteTable([
      {
        paths: [
          { path: '/api/v[0-9]+/users', type: 'ImplementationSpecific', regex: true, target: 'users' },
          { path: '/api', type: 'Prefix', target: 'api' },
          { path: '/api/v1/users', type: 'Exact', target: 'exact' },
        ],
      },
    ]);
    assert.deepEqual(issues, []);
    assert.equal(t.match('h', '/api/v2/users/7')?.target, 'users');
    assert.equal(t.match('h', '/api/v1/users')?.target, 'exact');
    assert.equal(t.match('h', '/api/vX/users')?.target, 'api');
    assert.equal(t.match('h', '/x/api/v2/users'), undefined);
  });

  it('rejects invalid regexes and regexes on other path types', () => {
    const { issues } = compileRouteTable([
      {
        paths: [
          { path: '/a(', type: 'ImplementationSpecific', regex: true, target: 1 },
          { path: '/b.*', type: 'Prefix', regex: true, target: 2 },
        ],
      },
    ]);
    assert.deepEqual(
      issues.map((i) => [i.code, i.at]),
      [
        ['PORTICO_ROUTE_INVALID_PATH', 'routes[0].paths[0].path'],
        ['PORTICO_ROUTE_INVALID_PATH', 'routes[0].paths[1].path'],
      ],
    );
    assert.match(issues[0]!.message, /not a valid regular expression/);
    assert.match(issues[1]!.message, /only ImplementationSpecific paths can be regular expressions/);
  });
});

describe('compile-time checks', () => {
  it('refuses hosts the Kubernetes API refuses, with a message saying what to do', () => {
    const bad = ['*', '10.0.0.1', 'foo.com:80', 'a.*.com', '-a.com', 'a_b.com', '*foo.com', '[::1]'];
    const { issues } = compileRouteTable(
      bad.map((host) => ({ host, paths: [{ path: '/', type: 'Prefix' as const, target: host }] })),
    );
    assert.equal(issues.length, bad.length);
    assert.ok(issues.every((i) => i.code === 'PORTICO_ROUTE_INVALID_HOST' && i.severity === 'error'));
    assert.match(issues[0]!.message, /omit the host/);
  });

  it('refuses paths the Kubernetes API refuses', () => {
    const bad = ['foo', '/a//b', '/a/./b', '/a/../b', '/a%2fb', '/a/.', '/a/..', '/a?b', '/a#b', '/a b'];
    const { issues } = compileRouteTable([
      { paths: bad.map((path) => ({ path, type: 'Prefix' as const, target: path })) },
    ]);
    assert.deepEqual(
      issues.map((i) => i.at),
      bad.map((_, j) => `routes[0].paths[${j}].path`),
    );
  });

  it('warns about rules shadowed forever: the same prefix spelled twice, or repeated in another source', () => {
    const { issues } = compileRouteTable([
      {
        paths: [
          { path: '/a/', type: 'Prefix', target: 1 },
          { path: '/a', type: 'ImplementationSpecific', target: 2 },
        ],
      },
      { paths: [{ path: '/x', type: 'Exact', target: 3 }] },
      { paths: [{ path: '/x', type: 'Exact', target: 4 }] },
    ]);
    assert.deepEqual(
      issues.map((i) => [i.code, i.severity, i.at]),
      [
        ['PORTICO_ROUTE_DUPLICATE', 'warning', 'routes[0].paths[1]'],
        ['PORTICO_ROUTE_DUPLICATE', 'warning', 'routes[2].paths[0]'],
      ],
    );
  });
});

describe('withHosts (incremental rebuild)', () => {
  it('replaces one host and shares every other host', () => {
    const specs = [
      { host: 'a.example', paths: [{ path: '/', type: 'Prefix' as const, target: 'a1' }] },
      { host: 'b.example', paths: [{ path: '/', type: 'Prefix' as const, target: 'b1' }] },
      { host: '*.c.example', paths: [{ path: '/', type: 'Prefix' as const, target: 'c1' }] },
    ];
    const first = compileRouteTable(specs).table;
    const { table: second, issues } = first.withHosts(
      ['a.example', 'new.example'],
      [
        { host: 'a.example', paths: [{ path: '/v2', type: 'Prefix', target: 'a2' }] },
        { host: 'new.example', paths: [{ path: '/', type: 'Prefix', target: 'n' }] },
        { host: 'b.example', paths: [{ path: '/', type: 'Prefix', target: 'ignored' }] },
      ],
    );
    assert.deepEqual(issues, []);
    assert.equal(second.match('a.example', '/'), undefined);
    assert.equal(second.match('a.example', '/v2/x')?.target, 'a2');
    assert.equal(second.match('new.example', '/')?.target, 'n');
    assert.equal(second.match('b.example', '/')?.target, 'b1');
    assert.equal(second.match('x.c.example', '/')?.target, 'c1');
    assert.equal(
      second.selectHost('b.example').table,
      first.selectHost('b.example').table,
      'unchanged host shared',
    );
    assert.equal(first.match('a.example', '/')?.target, 'a1', 'the old table is untouched');
  });

  it('removes a host given no specs for it', () => {
    const first = compileRouteTable([
      { host: 'gone.example', paths: [{ path: '/', type: 'Prefix' as const, target: 'g' }] },
    ]).table;
    assert.equal(first.withHosts(['gone.example'], []).table.match('gone.example', '/'), undefined);
  });
});
