import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '@portico/config';
import { createProxy, type PorticoProxy } from '@portico/proxy';
import { request } from 'undici';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf } from './helpers/start-proxy.ts';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('SO_REUSEPORT: several data planes on one port (createProxy reusePort)', () => {
  let backend: Backend;
  const proxies: PorticoProxy[] = [];
  let port: number;

  before(async () => {
    backend = await startBackend('app', (_req, res) => res.end('app'));
    port = await freePort();
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close({ drainTimeoutMs: 0 })));
    await backend.close();
  });

  const config = () =>
    parseConfig({
      listeners: [{ name: 'web', address: '127.0.0.1', port }],
      routes: [{ paths: [{ path: '/', service: 'app' }] }],
      services: [{ name: 'app', endpoints: endpointsOf(backend) }],
    });

  it('two proxies bind the same port and the kernel gives both of them connections', async () => {
    for (let i = 0; i < 2; i++) {
      const proxy = createProxy(config(), { reusePort: true });
      proxies.push(proxy);
      await proxy.listen();
    }
    // New connections (no keep-alive), bounded: the kernel spreads them by a hash of the client port.
    for (let i = 0; i < 200; i++) {
      const res = await request(`http://127.0.0.1:${port}/`, { reset: true });
      assert.equal(await res.body.text(), 'app');
      if (proxies.every((p) => p.counters.connections > 0)) break;
    }
    assert.ok(
      proxies.every((p) => p.counters.connections > 0),
      `connections: ${proxies.map((p) => p.counters.connections).join(', ')}`,
    );
  });

  it('without it, a second bind of the port is refused and says so', async () => {
    const third = createProxy(config());
    await assert.rejects(third.listen(), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'PORTICO_APPLY_FAILED');
      assert.match(error.message, /cannot bind 127\.0\.0\.1:\d+/);
      return true;
    });
    await third.close({ drainTimeoutMs: 0 });
  });
});
