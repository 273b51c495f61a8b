import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

/** forge loads node-forge (42 modules) the first time a certificate is generated, not at start. */
let forgeModule: typeof import('node-forge') | undefined;
function forge(): typeof import('node-forge') {
  forgeModule ??= createRequire(import.meta.url)('node-forge') as typeof import('node-forge');
  return forgeModule;
}

/** SelfSignedOptions describe a generated certificate. */
export interface SelfSignedOptions {
  /** hosts are the DNS names (wildcards allowed) and IP addresses it names. */
  readonly hosts: readonly string[];
  /** commonName is the subject's CN; default the first host. */
  readonly commonName?: string;
  /** days is how long it is valid from now; default 365. */
  readonly days?: number;
  /** keyBits is the RSA key size; default 2048. */
  readonly keyBits?: number;
}

/** PemPair is a certificate and its private key, as PEM text. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/**
 * generateSelfSigned makes an RSA key and a self-signed certificate for `hosts` with node-forge (which uses
 * Node's crypto for the key pair), valid from one hour ago (clock skew) for `days`.
 */
export function generateSelfSigned(options: SelfSignedOptions): PemPair {
  const { hosts, days = 365, keyBits = 2048, commonName = hosts[0] } = options;
  if (hosts.length === 0) throw new Error('a certificate needs at least one host');
  const { pki, md } = forge();
  const keys = pki.rsa.generateKeyPair({ bits: keyBits });
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`; // positive, 128 bits of randomness
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 3_600_000);
  cert.validity.notAfter = new Date(now + days * 86_400_000);
  const subject = [{ name: 'commonName', value: commonName! }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    {
      name: 'subjectAltName',
      altNames: hosts.map((host) =>
        /^[\d.]+$|:/.test(host) ? { type: 7, ip: host } : { type: 2, value: host },
      ),
    },
  ]);
  cert.sign(keys.privateKey, md.sha256.create());
  return { cert: pki.certificateToPem(cert), key: pki.privateKeyToPem(keys.privateKey) };
}

/** DEFAULT_CERTIFICATE_NAME is the CN of the certificate served when no configured one fits. */
export const DEFAULT_CERTIFICATE_NAME = 'Portico Default Certificate';

let defaultPair: PemPair | undefined;

/**
 * defaultCertificate is the self-signed certificate served to clients whose SNI no certificate covers, as
 * nginx-ingress's "Fake Certificate": generated once per process, valid for a year.
 */
export function defaultCertificate(): PemPair {
  defaultPair ??= generateSelfSigned({
    hosts: ['portico.invalid'],
    commonName: DEFAULT_CERTIFICATE_NAME,
  });
  return defaultPair;
}
