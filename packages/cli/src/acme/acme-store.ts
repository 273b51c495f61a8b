import { X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** LOCK_STALE_MS is when a lock file left by a process that died is taken over: 10 minutes. */
export const LOCK_STALE_MS = 10 * 60_000;

/** StoredCertificate is a host's certificate on disk, with its lifetime. */
export interface StoredCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialNumber: string;
}

/**
 * AcmeStore keeps ACME state on disk under one directory: the account key (`account.key`), and per host
 * `<host>/cert.pem` (the chain) and `<host>/key.pem`, written atomically (a temporary file renamed), keys
 * mode 0600. Instances that share the directory take turns ordering with a lock file per host, created
 * exclusively (`O_EXCL`); one left by a process that died is taken over after `LOCK_STALE_MS`.
 */
export class AcmeStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** accountKey returns the account's private key (PEM), made with `create` the first time. */
  async accountKey(create: () => Promise<Buffer>): Promise<Buffer> {
    const file = join(this.dir, 'account.key');
    try {
      return await readFile(file);
    } catch {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const key = await create();
      await this.#write(file, key, 0o600);
      return key;
    }
  }

  files(host: string): { certFile: string; keyFile: string } {
    return { certFile: join(this.dir, host, 'cert.pem'), keyFile: join(this.dir, host, 'key.pem') };
  }

  /** read returns a host's certificate and its lifetime, or undefined when there is none (or it does not parse). */
  async read(host: string): Promise<StoredCertificate | undefined> {
    const { certFile, keyFile } = this.files(host);
    try {
      const [pem] = await Promise.all([readFile(certFile), stat(keyFile)]);
      const leaf = new X509Certificate(pem);
      return {
        certFile,
        keyFile,
        notBefore: new Date(leaf.validFrom),
        notAfter: new Date(leaf.validTo),
        serialNumber: leaf.serialNumber,
      };
    } catch {
      return undefined;
    }
  }

  /** write stores a host's new certificate chain and key (the key first, so a reader never pairs a new certificate with an old key). */
  async write(host: string, certPem: string, keyPem: Buffer | string): Promise<void> {
    const { certFile, keyFile } = this.files(host);
    await mkdir(join(this.dir, host), { recursive: true, mode: 0o700 });
    await this.#write(keyFile, keyPem, 0o600);
    await this.#write(certFile, certPem, 0o644);
  }

  /** lock takes a host's lock, or returns undefined when another live process holds it. */
  async lock(host: string): Promise<(() => Promise<void>) | undefined> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${host}.lock`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
        await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
        await handle.close();
        return () => rm(file, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = Date.now() - (await stat(file).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
        if (age < LOCK_STALE_MS) return undefined;
        await rm(file, { force: true });
      }
    }
    return undefined;
  }

  async #write(file: string, data: Buffer | string, mode: number): Promise<void> {
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, data, { mode });
    await rename(temporary, file);
  }
}
