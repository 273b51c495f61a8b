import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPortico } from './helpers/portico-process.ts';

const EXAMPLE = fileURLToPath(new URL('../../../examples/static/portico.yaml', import.meta.url));

describe('portico explain', () => {
  it('names the serving route and why the others lose, exit 0', async () => {
    const { code, stdout } = await runPortico([
      'explain',
      '--config',
      EXAMPLE,
      'http://www.demo.localhost/api/users?x=1',
    ]);
    assert.equal(code, 0, stdout);
    assert.deepEqual(stdout.trim().split('\n'), [
      'www.demo.localhost/api/users: host www.demo.localhost selects the rules of www.demo.localhost (exact)',
      '  ✔ routes[0].paths[0] Prefix /api on www.demo.localhost -> api: Prefix /api on www.demo.localhost matches /api/users (4 characters)',
      '  · routes[0].paths[1] Prefix / on www.demo.localhost -> web: matches only 0 characters; /api matches 4',
      '  – routes[1].paths[0] Prefix / on *.demo.localhost -> web: *.demo.localhost matches too, but the exact host www.demo.localhost wins',
      '=> service api (route www, routes[0].paths[0])',
    ]);
  });

  it('explains a 404 with exit 2, and prints JSON on request', async () => {
    const { code, stdout } = await runPortico([
      'explain',
      '--json',
      '--config',
      EXAMPLE,
      'http://a.b.demo.localhost/',
    ]);
    assert.equal(code, 2);
    const result = JSON.parse(stdout);
    assert.equal(result.match, null);
    assert.equal(result.hostSelection, 'none');
    assert.equal(result.rules[2].reason, '*.demo.localhost covers exactly one label, not a.b.demo.localhost');
  });

  it('refuses a URL that is not absolute, exit 1', async () => {
    const { code, stdout } = await runPortico(['explain', '--config', EXAMPLE, '/just/a/path']);
    assert.equal(code, 1);
    assert.match(stdout, /is not an absolute URL; write it as http:\/\/host\/path/);
  });

  it('names weighted backends and says where a redirect-only route sends the client', async () => {
    const config = fileURLToPath(new URL('./fixtures/canary-and-redirect.yaml', import.meta.url));
    const split = await runPortico(['explain', '--config', config, 'http://shop.example/cart']);
    assert.equal(split.code, 0, split.stdout);
    assert.equal(
      split.stdout.trim().split('\n').at(-1),
      '=> backends stable=90, canary=10 (route shop, routes[0].paths[0])',
    );
    const moved = await runPortico(['explain', '--config', config, 'http://old.example/a']);
    assert.equal(moved.code, 0, moved.stdout);
    assert.equal(
      moved.stdout.trim().split('\n').at(-1),
      '=> redirect 301 to {scheme}://shop.example{path} (route moved, routes[1].paths[0]), filters: redirect',
    );
  });

  it("lists a path's filters after its route's, and a path that only redirects", async () => {
    const config = fileURLToPath(new URL('./fixtures/canary-and-redirect.yaml', import.meta.url));
    const api = await runPortico(['explain', '--config', config, 'http://api.example/v1/items']);
    assert.equal(api.code, 0, api.stdout);
    assert.equal(
      api.stdout.trim().split('\n').at(-1),
      '=> service stable (route api, routes[2].paths[0]), filters: request-headers, request-headers, mirror, url-rewrite',
    );
    const gone = await runPortico(['explain', '--config', config, 'http://api.example/gone']);
    assert.equal(
      gone.stdout.trim().split('\n').at(-1),
      '=> redirect 302 to {scheme}://{host}/v1 (route api, routes[2].paths[1]), filters: request-headers, redirect',
    );
  });
});
