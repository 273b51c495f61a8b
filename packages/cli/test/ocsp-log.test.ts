import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { OcspCa, stapled } from '../../proxy/test/helpers/ocsp-ca.ts';
import { writeHttpsSite } from './helpers/https-site.ts';
import { PorticoProcess } from './helpers/portico-process.ts';

/**
 * What an operator reads when stapling cannot get a response: the binary logs the failed fetch, with the
 * certificate and the responder, from one process and from each worker of `--workers 2` (a worker
 * fetches for its own handshakes and tells the primary, which logs).
 */
describe('portico run: OCSP fetches that fail are logged, by the process or by the primary for its workers', () => {
  let dir: string;
  let backend: Backend;
  let ca: OcspCa;
  let config: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-ocsp-log-'));
    backend = await startBackend('shop');
    ca = new OcspCa();
    await ca.start();
    ca.failing = true; // the responder answers 503
    const site = ca.issue('shop.test');
    config = await writeHttpsSite(dir, site.chain, site.key, backend.port);
  });

  after(async () => {
    ca.close();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const workers of [[], ['--workers', '2']]) {
    it(`${workers.length === 0 ? 'one process' : '--workers 2'}: a warning names the certificate, the responder and the reason`, async () => {
      const portico = new PorticoProcess(['run', '--config', config, ...workers]);
      try {
        const port = await portico.listeningPort();
        // Handshakes that ask for a stapled response start the fetch (a few, to reach every worker).
        for (let i = 0; i < 8; i++) assert.equal(await stapled(port, 'shop.test'), undefined);
        const line = await portico.waitForLog((l) => String(l['msg']).startsWith('OCSP response for'));
        assert.equal(line['level'], 40, 'warn');
        assert.match(
          String(line['msg']),
          /CN=shop\.test not fetched from http:\/\/127\.0\.0\.1:\d+\/: OCSP responder answered HTTP 503/,
        );
        if (workers.length > 0) assert.equal(typeof line['worker'], 'number', 'the worker that fetched it');
      } finally {
        portico.kill();
        await portico.exited;
      }
    });
  }
});
