import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeCert } from '../../proxy/test/helpers/tls-certs.ts';
import { runPortico } from './helpers/portico-process.ts';

const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../examples/static/portico.yaml', import.meta.url));

/** Each malformed file, and the lines `portico validate` must print for it (file:line:col: path: message). */
const CASES: [string, RegExp[]][] = [
  [
    'bad-syntax.yaml',
    [/^error: .*bad-syntax\.yaml:7:1: Flow sequence in block collection must be sufficiently indented/m],
  ],
  [
    'bad-enum.yaml',
    [
      /^error: .*bad-enum\.yaml:8:15: routes\[0\]\.paths\[0\]\.type: must be one of Exact, Prefix, ImplementationSpecific, got "Regex"$/m,
    ],
  ],
  [
    'unknown-field.yaml',
    [
      /^error: .*unknown-field\.yaml:3:11: listeners\[0\]\.port: must be integer, got "80a"$/m,
      /^error: .*unknown-field\.yaml:5:5: routes\[0\]: unknown field "hots" \(did you mean "host"\?\)$/m,
    ],
  ],
  [
    'missing-service.json',
    [
      /^error: .*missing-service\.json:3:73: routes\[0\]\.paths\[0\]\.service: no service named "api" \(known: web\)$/m,
    ],
  ],
  [
    'bad-host.yaml',
    [
      /^error: .*bad-host\.yaml:5:11: routes\[0\]\.host: a bare "\*" is not a valid host; omit the host to match every host$/m,
      /^error: .*bad-host\.yaml:11:15: routes\[1\]\.paths\[0\]\.path: "\/a\/\/b" must not contain "\/\/"$/m,
    ],
  ],
  [
    'missing-error-page.yaml',
    [
      /^error: .*missing-error-page\.yaml:3:39: errorPages\[0\]\.file: cannot read .*pages\/not-found\.html: ENOENT$/m,
    ],
  ],
  [
    'does-not-exist.yaml',
    [/^error: .*does-not-exist\.yaml: cannot read .*does-not-exist\.yaml: no such file$/m],
  ],
];

describe('portico validate', () => {
  for (const [name, expected] of CASES) {
    it(`explains what is wrong with ${name}, where, and exits 1`, async () => {
      const { code, stdout } = await runPortico(['validate', fixture(name)]);
      assert.equal(code, 1, stdout);
      for (const line of expected) assert.match(stdout, line);
      assert.match(stdout, /: invalid \(\d+ errors?\)$/m);
    });
  }

  it('accepts the example config and exits 0', async () => {
    const { code, stdout } = await runPortico(['validate', EXAMPLE]);
    assert.equal(code, 0, stdout);
    assert.match(stdout, /valid \(1 listeners, 2 routes, 2 services\)/);
  });

  it('prints usage with --help and the version with --version', async () => {
    const help = await runPortico(['--help']);
    assert.equal(help.code, 0);
    for (const command of ['run', 'validate', 'demo'])
      assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    const version = await runPortico(['--version']);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });

  it('refuses to start `run` on an invalid config, with the same errors, exit 1', async () => {
    const { code, stdout } = await runPortico(['run', '--config', fixture('bad-enum.yaml')]);
    assert.equal(code, 1);
    assert.match(stdout, /must be one of Exact, Prefix, ImplementationSpecific/);
  });

  it('checks offline what the config names: files exist and parse, keys match, addresses are addresses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portico-validate-'));
    try {
      const a = makeCert(['a.example']);
      const b = makeCert(['b.example']);
      await writeFile(join(dir, 'a.crt'), a.cert);
      await writeFile(join(dir, 'b.key'), b.key);
      await writeFile(join(dir, 'junk.pem'), 'not pem at all');
      const file = join(dir, 'portico.yaml');
      await writeFile(
        file,
        `listeners: [{ name: https, port: 8443, protocol: https, tls: {} }]
certificates:
  - { name: missing, certFile: missing.crt, keyFile: missing.key }
  - { name: mismatched, certFile: a.crt, keyFile: b.key }
  - { name: junk, certFile: junk.pem, keyFile: b.key }
routes: [{ paths: [{ path: /, service: web }] }]
services: [{ name: web, endpoints: [{ address: "not an ip!", port: 80 }] }]
`,
      );
      const { code, stdout } = await runPortico(['validate', file]);
      assert.equal(code, 1, stdout);
      assert.match(
        stdout,
        /services\[0\]\.endpoints\[0\]\.address: "not an ip!" is not an IP address or a DNS name$/m,
      );
      await writeFile(file, (await readFile(file, 'utf8')).replace('not an ip!', '127.0.0.1'));
      const second = await runPortico(['validate', file]);
      assert.equal(second.code, 1, second.stdout);
      assert.match(second.stdout, /certificates\[0\]\.certFile: cannot read .*missing\.crt: ENOENT$/m);
      assert.match(
        second.stdout,
        /certificates\[1\]\.keyFile: is not the key of certificates\[1\]\.certFile$/m,
      );
      assert.match(second.stdout, /certificates\[2\]\.certFile: is not a PEM certificate$/m);
      assert.doesNotMatch(second.stdout, /PRIVATE KEY/);
      const run = await runPortico(['run', '--config', file]);
      assert.equal(run.code, 1, 'run refuses to start on them');
      assert.match(run.stdout + run.stderr, /is not the key of certificates\[1\]\.certFile/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('checks htpasswd files offline: readable, and hashes it can check, never echoing a line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portico-validate-'));
    try {
      await writeFile(
        join(dir, 'htpasswd'),
        '# staff\nalice:plain-text-secret\n\nbob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n',
      );
      const file = join(dir, 'portico.yaml');
      await writeFile(
        file,
        `listeners: [{ name: web, port: 8080 }]
routes:
  - { host: a.example, basicAuth: { htpasswdFile: htpasswd }, paths: [{ path: /, service: web }] }
  - { host: b.example, basicAuth: { htpasswdFile: missing }, paths: [{ path: /, service: web }] }
services: [{ name: web, endpoints: [] }]
`,
      );
      const { code, stdout } = await runPortico(['validate', file]);
      assert.equal(code, 1, stdout);
      assert.match(
        stdout,
        /routes\[0\]\.basicAuth\.htpasswdFile: .*htpasswd line 2 has a hash that is not bcrypt/m,
      );
      assert.match(stdout, /routes\[1\]\.basicAuth\.htpasswdFile: cannot read .*missing: ENOENT$/m);
      assert.doesNotMatch(stdout, /plain-text-secret/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
