import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';

/** ChallengeSink is where HTTP-01 answers go while the CA validates: the proxy, or a store all instances watch. */
export interface ChallengeSink {
  /** set publishes an answer; it resolves once the instances that may be asked can give it. */
  set(token: string, keyAuthorization: string): void | Promise<void>;
  delete(token: string): void | Promise<void>;
}

/** OrderOptions say which CA to ask, as whom, and where the challenge answers go. */
export interface OrderOptions {
  readonly directoryUrl: string;
  readonly email: string | undefined;
  /** caFile holds CAs to trust for the ACME server's own TLS (a private CA, a test server). */
  readonly caFile: string | undefined;
  /** accountKey returns the account's key (PEM), making one with `create` the first time. */
  readonly accountKey: (create: () => Promise<Buffer>) => Promise<Buffer>;
  readonly challenges: ChallengeSink;
}

/**
 * orderCertificate gets a certificate for `hosts` (one name or several on one certificate) from an ACME CA (RFC 8555, with acme-client, loaded on
 * first use): an account (created or found by its key), an order, the HTTP-01 challenge answered through
 * `challenges`, a new key and CSR, the certificate chain. It throws with the CA's reason on failure.
 */
export async function orderCertificate(
  hosts: string | readonly string[],
  options: OrderOptions,
): Promise<{ cert: string; key: Buffer }> {
  const names = typeof hosts === 'string' ? [hosts] : [...hosts];
  const acme = await import('acme-client');
  if (options.caFile !== undefined)
    acme.axios.defaults.httpsAgent = new Agent({ ca: await readFile(options.caFile) });
  const accountKey = await options.accountKey(() => acme.crypto.createPrivateKey());
  const client = new acme.Client({ directoryUrl: options.directoryUrl, accountKey });
  const [key, csr] = await acme.crypto.createCsr({ commonName: names[0]!, altNames: names });
  const cert = await client.auto({
    csr,
    ...(options.email === undefined ? {} : { email: options.email }),
    termsOfServiceAgreed: true,
    challengePriority: ['http-01'],
    skipChallengeVerification: true,
    challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
      await options.challenges.set(challenge.token, keyAuthorization);
    },
    challengeRemoveFn: async (_authz, challenge) => {
      await options.challenges.delete(challenge.token);
    },
  });
  return { cert, key };
}
