import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import type { Challenge, ChallengeSink } from './challenge-sink.ts';

/** REQUEST_TIMEOUT_MS bounds each request to the CA (30 s): a CA that stops answering fails the order. */
const REQUEST_TIMEOUT_MS = 30_000;

/** OrderOptions say which CA to ask, as whom, and where the challenge answers go. */
export interface OrderOptions {
  readonly directoryUrl: string;
  readonly email: string | undefined;
  /** caFile holds CAs to trust for the ACME server's own TLS (a private CA, a test server). */
  readonly caFile: string | undefined;
  /** accountKey returns the account's key (PEM), making one with `create` the first time. */
  readonly accountKey: (create: () => Promise<Buffer>) => Promise<Buffer>;
  /** challenge is how ownership is proven: `http-01` or `tls-alpn-01`. */
  readonly challenge: 'http-01' | 'tls-alpn-01';
  readonly challenges: ChallengeSink;
}

/**
 * orderCertificate gets a certificate for `hosts` (one name, or several on one certificate) from an ACME
 * CA (RFC 8555, with acme-client, loaded on first use): an account (created or found by its key), an
 * order, the challenge (`options.challenge`) answered through `challenges`, a new key and CSR, the
 * certificate chain. It throws with the CA's reason on failure.
 */
export async function orderCertificate(
  hosts: string | readonly string[],
  options: OrderOptions,
): Promise<{ cert: string; key: Buffer }> {
  const names = typeof hosts === 'string' ? [hosts] : [...hosts];
  const acme = await import('acme-client');
  acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS;
  if (options.caFile !== undefined)
    acme.axios.defaults.httpsAgent = new Agent({ ca: await readFile(options.caFile) });
  const accountKey = await options.accountKey(() => acme.crypto.createPrivateKey());
  const client = new acme.Client({ directoryUrl: options.directoryUrl, accountKey });
  const contact = options.email === undefined ? {} : { contact: [`mailto:${options.email}`] };
  try {
    // An account the key already has is found, not re-registered (an update of nothing is refused).
    await client.createAccount({ onlyReturnExisting: true });
    if (options.email !== undefined) await client.updateAccount(contact);
  } catch {
    await client.createAccount({ termsOfServiceAgreed: true, ...contact });
  }
  const [key, csr] = await acme.crypto.createCsr({ commonName: names[0]!, altNames: names });
  const cert = await client.auto({
    csr,
    challengePriority: [options.challenge],
    skipChallengeVerification: true,
    challengeCreateFn: (authz, challenge, keyAuthorization) =>
      options.challenges.set(challengeOf(authz.identifier.value, challenge, keyAuthorization)),
    challengeRemoveFn: (authz, challenge, keyAuthorization) =>
      options.challenges.delete(challengeOf(authz.identifier.value, challenge, keyAuthorization)),
  });
  return { cert, key };
}

function challengeOf(
  host: string,
  challenge: { type: string; token: string },
  keyAuthorization: string,
): Challenge {
  if (challenge.type === 'tls-alpn-01') return { type: 'tls-alpn-01', host, keyAuthorization };
  return { type: 'http-01', token: challenge.token, keyAuthorization };
}
