import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRouteTable, explain, type MatchInput, type RouteSpec } from '@portico/router';

/** request builds a MatchInput from a method, headers (any case), a query string and a listener. */
function request(
  method: string,
  headers: Record<string, string> = {},
  query = '',
  listener = 'web',
): MatchInput {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const params = new URLSearchParams(query);
  return {
    listener,
    method,
    header: (name) => lower.get(name),
    query: (name) => params.get(name) ?? undefined,
  };
}

describe('rules with request conditions (method, headers, query parameters)', () => {
  const specs: RouteSpec<string>[] = [
    {
      host: 'shop.example',
      paths: [
        { path: '/api', type: 'Prefix', target: 'api' },
        {
          path: '/api',
          type: 'Prefix',
          conditions: { headers: [{ name: 'X-Canary', value: 'always' }] },
          target: 'canary',
        },
        {
          path: '/api',
          type: 'Prefix',
          conditions: {
            headers: [
              { name: 'x-canary', value: 'always' },
              { name: 'x-region', value: 'eu-.*', type: 'RegularExpression' },
            ],
          },
          target: 'canary-eu',
        },
        { path: '/api', type: 'Prefix', conditions: { method: 'POST' }, target: 'writes' },
        {
          path: '/api/v2',
          type: 'Prefix',
          conditions: { queryParams: [{ name: 'beta', value: '1' }] },
          target: 'beta',
        },
        { path: '/only-get', type: 'Exact', conditions: { method: 'GET' }, target: 'get' },
        { path: '/', type: 'Prefix', target: 'web' },
      ],
    },
  ];
  const { table, issues } = compileRouteTable(specs);
  const match = (path: string, input?: MatchInput) => table.match('shop.example', path, input)?.target;

  it('compiles without issues', () => assert.deepEqual(issues, []));

  it('takes the most specific rule of a path: method, then more headers, then more query parameters', () => {
    assert.equal(match('/api/x', request('GET')), 'api');
    assert.equal(match('/api/x', request('GET', { 'x-canary': 'always' })), 'canary');
    assert.equal(
      match('/api/x', request('GET', { 'X-CANARY': 'always', 'x-region': 'eu-west' })),
      'canary-eu',
    );
    assert.equal(match('/api/x', request('GET', { 'x-canary': 'always', 'x-region': 'us-east' })), 'canary');
    assert.equal(
      match('/api/x', request('POST', { 'x-canary': 'always' })),
      'writes',
      'a method beats headers',
    );
    assert.equal(
      match('/api/x', request('GET', { 'x-canary': 'Always' })),
      'api',
      'values are case-sensitive',
    );
  });

  it('a regular expression must match the whole value', () => {
    assert.equal(match('/api', request('GET', { 'x-canary': 'always', 'x-region': 'xeu-west' })), 'canary');
  });

  it('a longer path wins over conditions; when its conditions fail, shorter paths are tried', () => {
    assert.equal(match('/api/v2/items', request('GET', { 'x-canary': 'always' }, 'beta=1')), 'beta');
    assert.equal(match('/api/v2/items', request('GET', { 'x-canary': 'always' }, 'beta=0')), 'canary');
    assert.equal(match('/only-get', request('GET')), 'get');
    assert.equal(match('/only-get', request('DELETE')), 'web', 'an Exact rule whose method fails falls back');
  });

  it('without the request (L4, explain) only rules without conditions match', () => {
    assert.equal(match('/api/v2/items'), 'api');
    assert.equal(match('/only-get'), 'web');
  });

  it('the same path with the same conditions collides; different conditions do not', () => {
    const { issues: again } = compileRouteTable([
      ...specs,
      {
        host: 'shop.example',
        paths: [{ path: '/api', type: 'Prefix', conditions: { method: 'POST' }, target: 'dup' }],
      },
    ]);
    assert.deepEqual(
      again.map((i) => [i.code, i.at]),
      [['PORTICO_ROUTE_DUPLICATE', 'routes[1].paths[0]']],
    );
  });

  it('refuses an invalid regular expression, naming the rule', () => {
    const { issues: bad } = compileRouteTable([
      {
        paths: [
          {
            path: '/',
            type: 'Prefix',
            conditions: { headers: [{ name: 'x', value: '(', type: 'RegularExpression' }] },
            target: 'x',
          },
        ],
      },
    ]);
    assert.equal(bad[0]?.code, 'PORTICO_ROUTE_INVALID_MATCH');
    assert.equal(bad[0]?.at, 'routes[0].paths[0]');
    assert.match(bad[0]!.message, /header x: "\(" is not a valid regular expression/);
  });

  it('explain says a conditional rule serves only requests that meet its conditions', () => {
    const result = explain(table, 'shop.example', '/api/x');
    assert.equal(result.match?.target, 'api');
    const canary = result.verdicts.find((v) => v.rule.target === 'canary')!;
    assert.equal(canary.verdict, 'conditional');
    assert.equal(canary.reason, 'matches 4 characters, and serves only requests with header x-canary=always');
  });
});

describe('rules kept to some listeners (a Gateway API parentRef with a sectionName)', () => {
  const { table, issues } = compileRouteTable<string>([
    { host: 'shop.example', paths: [{ path: '/', type: 'Prefix', target: 'everywhere' }] },
    {
      host: 'shop.example',
      paths: [
        { path: '/', type: 'Prefix', conditions: { listeners: ['internal'] }, target: 'internal only' },
      ],
    },
    {
      host: 'shop.example',
      paths: [
        {
          path: '/',
          type: 'Prefix',
          conditions: { listeners: ['internal'], method: 'POST' },
          target: 'internal posts',
        },
      ],
    },
  ]);

  it('serve only on their listeners, before rules that serve on all', () => {
    assert.deepEqual(issues, []);
    assert.equal(table.match('shop.example', '/', request('GET', {}, '', 'web'))?.target, 'everywhere');
    assert.equal(
      table.match('shop.example', '/', request('GET', {}, '', 'internal'))?.target,
      'internal only',
    );
    assert.equal(
      table.match('shop.example', '/', request('POST', {}, '', 'internal'))?.target,
      'internal posts',
    );
    assert.equal(table.match('shop.example', '/', request('POST', {}, '', 'web'))?.target, 'everywhere');
  });

  it('say so when explained', () => {
    const verdicts = explain(table, 'shop.example', '/').verdicts.map((v) => v.reason);
    assert.ok(
      verdicts.some((r) => r.includes('listener internal')),
      verdicts.join('; '),
    );
  });
});
