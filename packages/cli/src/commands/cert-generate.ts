import { writeFile } from 'node:fs/promises';
import { generateSelfSigned } from '@portico/proxy';

/** CertGenerateOptions are the options of `portico cert generate`. */
export interface CertGenerateOptions {
  readonly hosts: readonly string[];
  /** days is how long the certificate is valid: 365 by default. */
  readonly days: number;
  readonly certOut: string;
  readonly keyOut: string;
}

/**
 * certGenerateCommand writes a self-signed RSA 2048 certificate for `hosts` (DNS names, `*.` wildcards, IP
 * addresses) and its key as PEM files; the key file is readable by its owner only. Returns the exit code.
 */
export async function certGenerateCommand(
  options: CertGenerateOptions,
  print: (line: string) => void,
): Promise<number> {
  if (options.hosts.length === 0) {
    print('error: name at least one --host');
    return 1;
  }
  const pair = generateSelfSigned({ hosts: options.hosts, days: options.days });
  await writeFile(options.certOut, pair.cert);
  await writeFile(options.keyOut, pair.key, { mode: 0o600 });
  print(
    `wrote ${options.certOut} and ${options.keyOut} for ${options.hosts.join(', ')} (${options.days} days)`,
  );
  return 0;
}
