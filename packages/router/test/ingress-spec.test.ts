import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRouteTable, type PathType } from '@portico/router';

type Rule = [PathType, string];

/**
 * The "Examples" table of the Kubernetes Ingress concept page (networking.k8s.io/v1, "Path types"),
 * row by row: the rules, the request path, and whether it matches (and which rule, when several exist).
 */
const PATH_TABLE: { rules: Rule[]; request: string; matches: string | false; note: string }[] = [
  { rules: [['Prefix', '/']], request: '/', matches: '/', note: '(all paths)' },
  { rules: [['Prefix', '/']], request: '/anything/at/all', matches: '/', note: '(all paths)' },
  { rules: [['Exact', '/foo']], request: '/foo', matches: '/foo', note: 'Yes' },
  { rules: [['Exact', '/foo']], request: '/bar', matches: false, note: 'No' },
  { rules: [['Exact', '/foo']], request: '/foo/', matches: false, note: 'No' },
  { rules: [['Exact', '/foo/']], request: '/foo', matches: false, note: 'No' },
  { rules: [['Prefix', '/foo']], request: '/foo', matches: '/foo', note: 'Yes' },
  { rules: [['Prefix', '/foo']], request: '/foo/', matches: '/foo', note: 'Yes' },
  { rules: [['Prefix', '/foo/']], request: '/foo', matches: '/foo/', note: 'Yes' },
  { rules: [['Prefix', '/foo/']], request: '/foo/', matches: '/foo/', note: 'Yes' },
  { rules: [['Prefix', '/aaa/bb']], request: '/aaa/bbb', matches: false, note: 'No' },
  { rules: [['Prefix', '/aaa/bbb']], request: '/aaa/bbb', matches: '/aaa/bbb', note: 'Yes' },
  {
    rules: [['Prefix', '/aaa/bbb/']],
    request: '/aaa/bbb',
    matches: '/aaa/bbb/',
    note: 'Yes, ignores trailing slash',
  },
  {
    rules: [['Prefix', '/aaa/bbb']],
    request: '/aaa/bbb/',
    matches: '/aaa/bbb',
    note: 'Yes, matches trailing slash',
  },
  {
    rules: [['Prefix', '/aaa/bbb']],
    request: '/aaa/bbb/ccc',
    matches: '/aaa/bbb',
    note: 'Yes, matches subpath',
  },
  {
    rules: [['Prefix', '/aaa/bbb']],
    request: '/aaa/bbbxyz',
    matches: false,
    note: 'No, does not match string prefix',
  },
  {
    rules: [
      ['Prefix', '/'],
      ['Prefix', '/aaa'],
    ],
    request: '/aaa/ccc',
    matches: '/aaa',
    note: 'Yes, matches /aaa prefix',
  },
  {
    rules: [
      ['Prefix', '/'],
      ['Prefix', '/aaa'],
      ['Prefix', '/aaa/bbb'],
    ],
    request: '/aaa/bbb',
    matches: '/aaa/bbb',
    note: 'Yes, matches /aaa/bbb prefix',
  },
  {
    rules: [
      ['Prefix', '/'],
      ['Prefix', '/aaa'],
      ['Prefix', '/aaa/bbb'],
    ],
    request: '/ccc',
    matches: '/',
    note: 'Yes, matches / prefix',
  },
  { rules: [['Prefix', '/aaa']], request: '/ccc', matches: false, note: 'No, uses default backend' },
  {
    rules: [
      ['Prefix', '/foo'],
      ['Exact', '/foo'],
    ],
    request: '/foo',
    matches: 'Exact /foo',
    note: 'Yes, prefers Exact',
  },
];

describe('Kubernetes Ingress concept page: path matching examples', () => {
  for (const row of PATH_TABLE) {
    const label = row.rules.map(([type, path]) => `${type} ${path}`).join(', ');
    it(`${label} against ${row.request}: ${row.note}`, () => {
      const { table, issues } = compileRouteTable([
        {
          host: 'foo.bar.com',
          paths: row.rules.map(([type, path]) => ({ path, type, target: `${type} ${path}` })),
        },
      ]);
      assert.deepEqual(issues, []);
      const found = table.match('foo.bar.com', row.request)?.target;
      if (row.matches === false) assert.equal(found, undefined);
      else
        assert.equal(
          found,
          row.matches.includes(' ')
            ? row.matches
            : `${row.rules.find(([, p]) => p === row.matches)![0]} ${row.matches}`,
        );
    });
  }

  it('finds a short prefix under a long request path, on segment boundaries only', () => {
    const { table } = compileRouteTable([
      {
        paths: [
          { path: '/aaa', type: 'Prefix', target: 'aaa' },
          { path: '/aaa/bbb', type: 'Prefix', target: 'bbb' },
        ],
      },
    ]);
    assert.equal(table.match('x', `/aaa/${'x/'.repeat(50)}`)?.target, 'aaa');
    assert.equal(table.match('x', `/aaa/bbb/${'y/'.repeat(50)}z`)?.target, 'bbb');
    assert.equal(table.match('x', `/aaa/bbbb/${'y/'.repeat(50)}`)?.target, 'aaa');
    assert.equal(table.match('x', `/aaab/${'y/'.repeat(50)}`), undefined);
  });

  it('matches case-sensitively', () => {
    const { table } = compileRouteTable([
      {
        paths: [
          { path: '/foo', type: 'Exact', target: 'e' },
          { path: '/bar', type: 'Prefix', target: 'p' },
        ],
      },
    ]);
    assert.equal(table.match('x', '/FOO'), undefined);
    assert.equal(table.match('x', '/BAR/x'), undefined);
  });
});

/** The "Hostname wildcards" table of the same page. */
const HOST_TABLE: [string, string, boolean, string][] = [
  ['*.foo.com', 'bar.foo.com', true, 'Matches based on shared suffix'],
  ['*.foo.com', 'baz.bar.foo.com', false, 'No match, wildcard only covers a single DNS label'],
  ['*.foo.com', 'foo.com', false, 'No match, wildcard only covers a single DNS label'],
];

describe('Kubernetes Ingress concept page: hostname wildcards', () => {
  for (const [host, header, matches, note] of HOST_TABLE) {
    it(`${host} with Host: ${header}: ${note}`, () => {
      const { table } = compileRouteTable([{ host, paths: [{ path: '/', type: 'Prefix', target: host }] }]);
      assert.equal(table.match(header, '/')?.target, matches ? host : undefined);
    });
  }

  it('a precise host requires the Host header to equal it (case-insensitive, port ignored)', () => {
    const { table } = compileRouteTable([
      { host: 'foo.bar.com', paths: [{ path: '/', type: 'Prefix', target: 'x' }] },
    ]);
    assert.equal(table.match('foo.bar.com', '/')?.target, 'x');
    assert.equal(table.match('FOO.bar.COM:443', '/')?.target, 'x');
    assert.equal(table.match('subdomain.bar.com', '/'), undefined);
    assert.equal(table.match('bar.com', '/'), undefined);
  });

  it('an exact host beats a wildcard, which beats rules without a host', () => {
    const { table } = compileRouteTable([
      { paths: [{ path: '/', type: 'Prefix', target: 'any' }] },
      { host: '*.foo.com', paths: [{ path: '/', type: 'Prefix', target: 'wild' }] },
      { host: 'bar.foo.com', paths: [{ path: '/', type: 'Prefix', target: 'exact' }] },
    ]);
    assert.equal(table.match('bar.foo.com', '/')?.target, 'exact');
    assert.equal(table.match('baz.foo.com', '/')?.target, 'wild');
    assert.equal(table.match('a.b.foo.com', '/')?.target, 'any');
    assert.equal(table.match('other.example', '/')?.target, 'any');
  });

  it('rules from many sources for one host merge into one table', () => {
    const { table, issues } = compileRouteTable([
      {
        id: 'ingress default/a',
        host: 'shop.example',
        paths: [{ path: '/cart', type: 'Prefix', target: 'cart' }],
      },
      {
        id: 'ingress default/b',
        host: 'SHOP.example',
        paths: [{ path: '/', type: 'Prefix', target: 'web' }],
      },
    ]);
    assert.deepEqual(issues, []);
    assert.equal(table.match('shop.example', '/cart/1')?.target, 'cart');
    assert.equal(table.match('shop.example', '/')?.target, 'web');
    assert.equal(table.match('shop.example', '/cart')?.id, 'ingress default/a.paths[0]');
  });
});
