import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { htpasswdProblem, type PorticoConfig } from '@portico/config';
import type { FileProblem } from '@portico/discovery';

/** PemSource is a certificate or a key as a config names it: a file, or inline PEM text. */
interface PemSource {
  readonly file: string | undefined;
  readonly text: string | undefined;
  /** at is the JSON path of the field (`certificates[0].certFile`). */
  readonly at: string;
}

/**
 * checkFiles checks what a config's certificates, keys, CA bundles and htpasswd files hold, offline: every
 * file exists and is readable, every PEM parses, each key belongs to its certificate, and every htpasswd
 * line has a hash Portico can check. Paths must already be
 * resolved (`resolveReferencedFiles`). `validate` and the first load of `run` refuse a config with a
 * problem here; later file changes are the certificate store's (it keeps the last good version).
 */
export function checkFiles(config: PorticoConfig, locate: (path: string) => string): FileProblem[] {
  const problems: FileProblem[] = [];
  const problem = (at: string, message: string) =>
    problems.push({ code: 'PORTICO_CONFIG_INVALID', where: locate(at), path: at, message });

  const read = (source: PemSource): string | undefined => {
    if (source.file === undefined) return source.text;
    try {
      return readFileSync(source.file, 'utf8');
    } catch (error) {
      problem(
        source.at,
        `cannot read ${source.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
      return undefined;
    }
  };
  const certificate = (source: PemSource): X509Certificate | undefined => {
    const text = read(source);
    if (text === undefined) return undefined;
    try {
      return new X509Certificate(text);
    } catch {
      problem(source.at, 'is not a PEM certificate');
      return undefined;
    }
  };
  const key = (source: PemSource): KeyObject | undefined => {
    const text = read(source);
    if (text === undefined) return undefined;
    try {
      return createPrivateKey(text);
    } catch {
      problem(source.at, 'is not an unencrypted PEM private key'); // never the key itself
      return undefined;
    }
  };
  const pair = (
    base: string,
    pem: { certFile?: string; keyFile?: string; cert?: string; key?: string },
  ): void => {
    const certAt = `${base}.${pem.certFile === undefined ? 'cert' : 'certFile'}`;
    const keyAt = `${base}.${pem.keyFile === undefined ? 'key' : 'keyFile'}`;
    if (pem.certFile === undefined && pem.cert === undefined) return;
    const x509 = certificate({ file: pem.certFile, text: pem.cert, at: certAt });
    const privateKey = key({ file: pem.keyFile, text: pem.key, at: keyAt });
    if (x509 !== undefined && privateKey !== undefined && !x509.checkPrivateKey(privateKey))
      problem(keyAt, `is not the key of ${certAt}`);
  };
  const bundle = (at: string, file: string | undefined, text: string | undefined): void => {
    if (file === undefined && text === undefined) return;
    certificate({ file, text, at });
  };

  config.certificates.forEach((cert, i) => {
    pair(`certificates[${i}]`, cert);
  });
  config.listeners.forEach((listener, i) => {
    const client = listener.tls?.clientCertificate;
    if (client !== undefined)
      bundle(
        `listeners[${i}].tls.clientCertificate.${client.caFile === undefined ? 'ca' : 'caFile'}`,
        client.caFile,
        client.ca,
      );
  });
  config.services.forEach((service, i) => {
    const tls = service.tls;
    if (tls === undefined) return;
    bundle(`services[${i}].tls.${tls.caFile === undefined ? 'ca' : 'caFile'}`, tls.caFile, tls.ca);
    pair(`services[${i}].tls`, tls);
  });
  const pages = (list: readonly { file?: string | undefined }[] | undefined, at: string) =>
    list?.forEach((page, k) => {
      if (page.file !== undefined) read({ file: page.file, text: undefined, at: `${at}[${k}].file` });
    });
  pages(config.errorPages, 'errorPages');
  config.routes.forEach((route, i) => {
    pages(route.errorPages, `routes[${i}].errorPages`);
  });
  config.routes.forEach((route, i) => {
    const file = route.basicAuth?.htpasswdFile;
    if (file === undefined) return;
    const at = `routes[${i}].basicAuth.htpasswdFile`;
    const text = read({ file, text: undefined, at });
    if (text === undefined) return;
    text.split(/\r?\n/).forEach((raw, n) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const bad = htpasswdProblem(line);
      if (bad !== undefined) problem(at, `${file} line ${n + 1} ${bad}`); // never the line itself
    });
  });
  return problems;
}
