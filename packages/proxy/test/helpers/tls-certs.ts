import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** TestCert is a self-signed ECDSA P-256 certificate and its key, in PEM. */
export interface TestCert {
  readonly cert: string;
  readonly key: string;
}

/** SELF_SIGNED_EC are the openssl arguments of a self-signed ECDSA P-256 certificate valid for two days. */
export const SELF_SIGNED_EC = [
  'req',
  '-x509',
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:prime256v1',
  '-nodes',
  '-days',
  '2',
];

/** makeCert creates a self-signed certificate for `names` (the first is the subject CN) with openssl. */
export function makeCert(names: string[]): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'portico-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        ...SELF_SIGNED_EC,
        '-subj',
        `/CN=${names[0]}`,
        '-addext',
        `subjectAltName=${names.map((n) => (isIP(n) === 0 ? `DNS:${n}` : `IP:${n}`)).join(',')}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** TestCa is a CA and a function issuing certificates it signs, for mutual TLS tests. */
export interface TestCa extends TestCert {
  issue(cn: string, names?: string[]): TestCert;
}

/** makeCa creates a self-signed ECDSA CA with openssl; `issue` signs leaf certificates with it. */
export function makeCa(name: string): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'portico-ca-'));
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });
  try {
    run([...SELF_SIGNED_EC].concat(['-subj', `/CN=${name}`, '-keyout', 'ca.key', '-out', 'ca.pem']));
    const ca = {
      cert: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      key: readFileSync(join(dir, 'ca.key'), 'utf8'),
    };
    return {
      ...ca,
      issue(cn: string, names: string[] = []): TestCert {
        const leaf = mkdtempSync(join(tmpdir(), 'portico-leaf-'));
        const at = (file: string) => join(leaf, file);
        try {
          run(
            ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
              '-subj',
              `/O=Portico Test/CN=${cn}`,
              '-keyout',
              at('key.pem'),
              '-out',
              at('req.csr'),
            ]),
          );
          const ext =
            names.length === 0
              ? 'extendedKeyUsage=clientAuth'
              : `subjectAltName=${names.map((n) => (isIP(n) === 0 ? `DNS:${n}` : `IP:${n}`)).join(',')}`;
          execFileSync('sh', ['-c', `printf '%s\\n' '${ext}' > ${at('ext.cnf')}`]);
          run(
            [
              'x509',
              '-req',
              '-in',
              at('req.csr'),
              '-CA',
              'ca.pem',
              '-CAkey',
              'ca.key',
              '-CAcreateserial',
            ].concat(['-days', '2', '-extfile', at('ext.cnf'), '-out', at('cert.pem')]),
          );
          return { cert: readFileSync(at('cert.pem'), 'utf8'), key: readFileSync(at('key.pem'), 'utf8') };
        } finally {
          rmSync(leaf, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
