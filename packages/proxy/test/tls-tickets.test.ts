import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '@portico/config';
import { type Backend, startBackend } from './helpers/backend.ts';
import { endpointsOf, startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCert } from './helpers/tls-certs.ts';
import { resumeSession } from './helpers/tls-session.ts';

/** Two proxies, as two instances of a fleet: a session one issued resumes on the other only with shared keys. */
describe('TLS session ticket keys shared between proxies', () => {
  let backend: Backend;
  const proxies: TestProxy[] = [];
  const cert = makeCert(['shop.test']);
  const ports: number[] = [];

  before(async () => {
    backend = await startBackend('shop');
    for (let i = 0; i < 3; i++) {
      const proxy = await startProxy({
        listeners: [{ name: 'https', address: '127.0.0.1', port: 0, protocol: 'https' }],
        certificates: [{ name: 'shop', cert: cert.cert, key: cert.key }],
        routes: [{ host: 'shop.test', paths: [{ path: '/', service: 'shop' }] }],
        services: [{ name: 'shop', endpoints: endpointsOf(backend) }],
      });
      proxies.push(proxy);
      ports.push(proxy.proxy.listeners()[0]!.port);
    }
  });
  after(async () => {
    for (const p of proxies) await p.close();
    await backend.close();
  });

  it('same keys: resumed on the other proxy; other keys: a full handshake; keys take effect at once', async () => {
    const keys = randomBytes(48);
    proxies[0]!.proxy.setTicketKeys(keys);
    proxies[1]!.proxy.setTicketKeys(keys);
    proxies[2]!.proxy.setTicketKeys(randomBytes(48));
    const first = await resumeSession(ports[0]!, 'shop.test', undefined, 'TLSv1.2');
    assert.ok(first.ticket !== undefined);
    assert.equal(
      (await resumeSession(ports[1]!, 'shop.test', first.ticket, 'TLSv1.2')).reused,
      true,
      'the other proxy with the same keys',
    );
    assert.equal(
      (await resumeSession(ports[2]!, 'shop.test', first.ticket, 'TLSv1.2')).reused,
      false,
      'a proxy with other keys',
    );
    proxies[2]!.proxy.setTicketKeys(keys);
    assert.equal(
      (await resumeSession(ports[2]!, 'shop.test', first.ticket, 'TLSv1.2')).reused,
      true,
      'once given the keys',
    );
    assert.throws(() => proxies[0]!.proxy.setTicketKeys(randomBytes(32)), /48 bytes/);
  });

  it('sessionTicketKeyFile: listeners sharing one file resume each other; a new file takes effect on apply; a bad file is reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-tickets-'));
    try {
      const file = join(dir, 'ticket.key');
      writeFileSync(file, randomBytes(48));
      const withFile = (keyFile: string) =>
        parseConfig({
          listeners: [
            {
              name: 'https',
              address: '127.0.0.1',
              port: 0, // as the proxies were started: the same listener, still bound where it was
              protocol: 'https',
              tls: { sessionTicketKeyFile: keyFile },
            },
          ],
          certificates: [{ name: 'shop', cert: cert.cert, key: cert.key }],
          routes: [{ host: 'shop.test', paths: [{ path: '/', service: 'shop' }] }],
          services: [{ name: 'shop', endpoints: endpointsOf(backend) }],
        });
      // Proxy 0 and 1 read the same file (the proxy-wide keys they were given differ now).
      proxies[0]!.proxy.setTicketKeys(randomBytes(48));
      proxies[1]!.proxy.setTicketKeys(randomBytes(48));
      await proxies[0]!.proxy.apply(withFile(file));
      await proxies[1]!.proxy.apply(withFile(file));
      const first = await resumeSession(ports[0]!, 'shop.test', undefined, 'TLSv1.2');
      assert.equal(
        (await resumeSession(ports[1]!, 'shop.test', first.ticket, 'TLSv1.2')).reused,
        true,
        'the same key file',
      );
      // A new key file on proxy 1: the old ticket no longer resumes there.
      writeFileSync(file, randomBytes(48));
      await proxies[1]!.proxy.apply(withFile(file));
      assert.equal(
        (await resumeSession(ports[1]!, 'shop.test', first.ticket, 'TLSv1.2')).reused,
        false,
        'keys changed with the file',
      );
      // A file of the wrong size: reported, and the listener keeps serving with the process's keys.
      const bad = join(dir, 'bad.key');
      writeFileSync(bad, randomBytes(80));
      await proxies[0]!.proxy.apply(withFile(bad));
      const issue = proxies[0]!.proxy.snapshot.tls.issues.find(
        (i) => i.certificate === 'https.sessionTicketKeyFile',
      );
      assert.match(String(issue?.message), /holds 80 bytes; a session ticket key file holds 48/);
      assert.ok(
        (await resumeSession(ports[0]!, 'shop.test', undefined, 'TLSv1.2')).ticket !== undefined,
        'still serving',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
