import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { TlsIssue } from './tls-issue.ts';

/** CertificateInfo is what Portico shows and checks of a served certificate (the leaf of its chain). */
export interface CertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  /** dnsNames are the DNS names of subjectAltName, or the CN when there are none. */
  readonly dnsNames: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** fingerprint256 is the leaf's SHA-256 fingerprint, `AA:BB:...`. */
  readonly fingerprint256: string;
  /** keyType is `rsa`, `ec`, `ed25519`, ... */
  readonly keyType: string;
}

const DAY_MS = 86_400_000;

/**
 * inspectCertificate parses a PEM certificate chain and its key and checks that the key fits the leaf and
 * that the leaf is valid at `now`. It returns the leaf's details, or the issue that refuses it; a leaf that
 * ends within `warnDays` comes back with a warning.
 */
export function inspectCertificate(
  name: string,
  certPem: string,
  keyPem: string,
  now: number,
  warnDays: number,
): { info: CertificateInfo | undefined; issue: TlsIssue | undefined } {
  const refuse = (code: TlsIssue['code'], message: string) => ({
    info: undefined,
    issue: { code, severity: 'error' as const, certificate: name, message },
  });
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (error) {
    return refuse('PORTICO_TLS_CERT_INVALID', `certificate is not valid PEM: ${(error as Error).message}`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    return refuse('PORTICO_TLS_CERT_INVALID', `private key is not valid PEM: ${(error as Error).message}`);
  }
  if (!leaf.checkPrivateKey(key)) {
    return refuse(
      'PORTICO_TLS_KEY_MISMATCH',
      `the private key does not belong to the certificate (subject "${leaf.subject.replaceAll('\n', ', ')}")`,
    );
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now) {
    return refuse('PORTICO_TLS_CERT_EXPIRED', `certificate expired on ${notAfter.toISOString()}`);
  }
  if (notBefore.getTime() > now) {
    return refuse(
      'PORTICO_TLS_CERT_NOT_YET_VALID',
      `certificate is not valid before ${notBefore.toISOString()}`,
    );
  }
  const info: CertificateInfo = {
    subject: leaf.subject.replaceAll('\n', ', '),
    issuer: leaf.issuer.replaceAll('\n', ', '),
    dnsNames: dnsNamesOf(leaf),
    notBefore,
    notAfter,
    fingerprint256: leaf.fingerprint256,
    keyType: key.asymmetricKeyType ?? 'unknown',
  };
  const daysLeft = (notAfter.getTime() - now) / DAY_MS;
  if (daysLeft < warnDays) {
    return {
      info,
      issue: {
        code: 'PORTICO_TLS_CERT_EXPIRING',
        severity: 'warning',
        certificate: name,
        message: `certificate expires on ${notAfter.toISOString()} (in ${Math.floor(daysLeft)} days)`,
      },
    };
  }
  return { info, issue: undefined };
}

/** dnsNamesOf lists a certificate's subjectAltName DNS entries, or its CN when it has none. */
function dnsNamesOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san !== undefined) {
    const names = san
      .split(', ')
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4).toLowerCase());
    if (names.length > 0) return names;
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn === undefined ? [] : [cn.toLowerCase()];
}
