import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, REDACTED, redactSecrets, restoreSecrets, validateConfig } from '@portico/config';

const KEY =
  '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

const config = parseConfig({
  listeners: [{ name: 'http', port: 8080 }],
  certificates: [
    { name: 'a', cert: 'CERT-A', key: KEY },
    { name: 'b', certFile: '/etc/b.crt', keyFile: '/etc/b.key' },
  ],
  routes: [{ paths: [{ path: '/', service: 'web' }] }],
  services: [
    {
      name: 'web',
      endpoints: [{ address: '127.0.0.1', port: 9000 }],
      affinity: { type: 'cookie', secret: 'hmac-key-of-enough-length' },
      tls: { cert: 'CERT-C', key: KEY },
    },
  ],
  admin: { token: 'admin-token-of-enough-length' },
});

describe('secret fields (writeOnly in the schema)', () => {
  it('redactSecrets replaces every secret and nothing else, without touching the input', () => {
    const shown = redactSecrets(config);
    assert.equal(shown.certificates[0]!.key, REDACTED);
    assert.equal(shown.certificates[0]!.cert, 'CERT-A');
    assert.equal(shown.certificates[1]!.keyFile, '/etc/b.key');
    assert.equal(shown.services[0]!.tls!.key, REDACTED);
    assert.equal(shown.services[0]!.affinity!.secret, REDACTED);
    assert.equal(shown.admin!.token, REDACTED);
    assert.equal(config.certificates[0]!.key, KEY);
    assert.ok(!JSON.stringify(shown).includes('PRIVATE KEY'));
  });

  it('restoreSecrets keeps the current values by name, even when the list was reordered', () => {
    const shown = structuredClone(redactSecrets(config)) as typeof config;
    shown.certificates.reverse();
    const { document, unresolved } = restoreSecrets(shown, config);
    assert.deepEqual(unresolved, []);
    const restored = document as typeof config;
    assert.equal(restored.certificates[1]!.key, KEY);
    assert.equal(restored.services[0]!.tls!.key, KEY);
    assert.equal(restored.admin!.token, 'admin-token-of-enough-length');
    assert.ok(validateConfig(restored).ok);
  });

  it('restoreSecrets names a placeholder it cannot resolve', () => {
    const shown = structuredClone(redactSecrets(config)) as typeof config;
    shown.certificates[0]!.name = 'renamed';
    assert.deepEqual(restoreSecrets(shown, config).unresolved, ['certificates[0].key']);
  });

  it('a validation message never echoes a secret value', () => {
    const result = validateConfig({ admin: { token: 'short-secret' } });
    assert.equal(result.ok, false);
    const text = JSON.stringify(result.ok ? [] : result.issues);
    assert.match(text, /admin\.token/);
    assert.ok(!text.includes('short-secret'), text);
  });
});
