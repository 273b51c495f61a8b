import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { makeCert } from '../../proxy/test/helpers/tls-certs.ts';
import { resumeSession } from '../../proxy/test/helpers/tls-session.ts';
import { writeHttpsSite } from './helpers/https-site.ts';
import { PorticoProcess } from './helpers/portico-process.ts';

/**
 * With `--workers 2` the kernel hands each new connection to either worker: a client resumes its TLS
 * session on whichever it reaches, since the primary gives every worker the same ticket keys.
 */
describe('portico run --workers 2: TLS sessions resume on any worker', () => {
  let dir: string;
  let backend: Backend;
  let portico: PorticoProcess;
  let port: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-workers-tls-'));
    backend = await startBackend('shop');
    const cert = makeCert(['shop.test']);
    const config = await writeHttpsSite(dir, cert.cert, cert.key, backend.port);
    portico = new PorticoProcess(['run', '--config', config, '--workers', '2']);
    port = await portico.listeningPort();
  });

  after(async () => {
    portico?.kill();
    await portico?.exited;
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    it(`${version}: 16 resumptions in a row, none a full handshake`, async () => {
      const first = await resumeSession(port, 'shop.test', undefined, version);
      assert.ok(first.ticket !== undefined, 'a session ticket came');
      let session = first.ticket;
      const reused: boolean[] = [];
      for (let i = 0; i < 16; i++) {
        const next = await resumeSession(port, 'shop.test', session, version);
        reused.push(next.reused);
        session = next.ticket ?? session;
      }
      // With a key set per worker, about half of these would land on the other worker and fail.
      assert.deepEqual(reused, Array(16).fill(true));
    });
  }
});
