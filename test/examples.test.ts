import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

/** startExample runs an example as its own process on a free port and resolves with its base URL. */
async function startExample(path: string): Promise<{ url: string; child: ChildProcess }> {
  const file = fileURLToPath(new URL(`../examples/${path}`, import.meta.url));
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${path} did not start: ${output}`)), 10_000);
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const found = /listening on (http:\/\/[\d.:]+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`${path} exited with ${code}: ${output}`)));
  });
  return { url, child };
}

async function get(url: string, host?: string) {
  const res = await request(url, host === undefined ? {} : { headers: { host } });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

describe('embedding examples run', () => {
  it('examples/router/node-http.ts routes by host and path', async () => {
    const { url, child } = await startExample('router/node-http.ts');
    try {
      assert.deepEqual(JSON.parse((await get(`${url}/api/orders/7`, 'shop.example')).text), {
        handler: 'orders',
        url: '/api/orders/7',
      });
      assert.equal(JSON.parse((await get(`${url}/health`, 'shop.example')).text).handler, 'health');
      assert.equal(JSON.parse((await get(`${url}/health/x`, 'shop.example')).text).handler, 'storefront');
      assert.equal(JSON.parse((await get(`${url}/`, 'acme.tenants.example')).text).tenant, 'acme');
      assert.equal((await get(`${url}/`, 'a.b.tenants.example')).status, 404);
    } finally {
      child.kill();
    }
  });

  it('examples/router/fastify.ts routes inside Fastify and explains', async () => {
    const { url, child } = await startExample('router/fastify.ts');
    try {
      assert.equal(
        JSON.parse((await get(`${url}/billing/invoices`, 'acme.apps.example')).text).app,
        'billing',
      );
      assert.equal(JSON.parse((await get(`${url}/billingx`, 'acme.apps.example')).text).app, 'dashboard');
      assert.equal((await get(`${url}/`, 'unknown.example')).status, 404);
      const explained = JSON.parse(
        (await get(`${url}/_explain?url=${encodeURIComponent('http://acme.apps.example/billing/x')}`)).text,
      );
      assert.deepEqual(explained.match, { app: 'billing' });
      assert.equal(
        explained.rules.find((r: { verdict: string }) => r.verdict === 'shorter').id,
        'routes[0].paths[1]',
      );
    } finally {
      child.kill();
    }
  });

  it('examples/embedding/node-http-handler.ts proxies through createHandler with routing and balancing', async () => {
    const { url, child } = await startExample('embedding/node-http-handler.ts');
    try {
      assert.equal((await get(`${url}/healthz`, 'api.example')).text, 'ok\n');
      const served = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const body = JSON.parse((await get(`${url}/v1/orders/7?x=1`, 'api.example')).text);
        assert.equal(body.url, '/orders/7?x=1');
        assert.equal(body.forwardedFor, '127.0.0.1');
        served.add(body.servedBy);
      }
      assert.deepEqual([...served].sort(), ['orders-a', 'orders-b']);
      assert.equal((await get(`${url}/v2`, 'api.example')).status, 404);
    } finally {
      child.kill();
    }
  });

  it('examples/embedding/fastify-handler.ts hands unmatched Fastify requests to Portico', async () => {
    const { url, child } = await startExample('embedding/fastify-handler.ts');
    try {
      assert.deepEqual(JSON.parse((await get(`${url}/app/info`)).text), { app: 'fastify' });
      assert.deepEqual(JSON.parse((await get(`${url}/cart/1`, 'shop.example')).text), {
        servedBy: 'cart',
        url: '/cart/1',
      });
      assert.equal((await get(`${url}/cart/1`, 'other.example')).status, 404);
      // Request bodies reach the upstream whole, whatever their type: Fastify must not parse them first.
      const bodies: [string, Buffer][] = [
        ['application/json', Buffer.from(JSON.stringify({ item: 7, quantity: 2 }))],
        ['application/octet-stream', randomBytes(4_096)],
        ['application/octet-stream', randomBytes(10 * 1_048_576)],
      ];
      for (const [type, body] of bodies) {
        const res = await request(`${url}/cart/items`, {
          method: 'POST',
          headers: { host: 'shop.example', 'content-type': type },
          body,
        });
        const seen = JSON.parse(await res.body.text());
        assert.equal(res.statusCode, 200, `${type} ${body.length} bytes`);
        assert.deepEqual(seen, {
          servedBy: 'cart',
          url: '/cart/items',
          contentType: type,
          bytes: body.length,
          sha256: createHash('sha256').update(body).digest('hex'),
        });
      }
    } finally {
      child.kill();
    }
  });
});
