import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runPortico } from './helpers/portico-process.ts';

describe('portico cert generate', () => {
  it('writes a certificate for every --host (wildcards too) and a private key only its owner reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portico-cert-'));
    try {
      const cert = join(dir, 'tls.crt');
      const key = join(dir, 'tls.key');
      const run = await runPortico(
        ['cert', 'generate', '--host', 'a.example', '--host', '*.b.example'].concat([
          '--days',
          '30',
          '--cert',
          cert,
          '--key',
          key,
        ]),
      );
      assert.equal(run.code, 0, run.stderr);
      const x509 = new X509Certificate(await readFile(cert));
      assert.equal(x509.subjectAltName, 'DNS:a.example, DNS:*.b.example');
      assert.ok(x509.checkHost('x.b.example'));
      const days = (Date.parse(x509.validTo) - Date.now()) / 86_400_000;
      assert.ok(days > 29 && days <= 30, `valid for ${days} days`);
      assert.equal((await stat(key)).mode & 0o777, 0o600);
      assert.ok(x509.checkPrivateKey(createPrivateKey(await readFile(key))));
      const none = await runPortico(['cert', 'generate', '--cert', cert, '--key', key]);
      assert.equal(none.code, 1);
      assert.match(none.stdout, /name at least one --host/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
