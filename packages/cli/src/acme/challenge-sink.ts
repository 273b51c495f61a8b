/** Challenge is one answer the CA will ask for: an HTTP-01 token, or a TLS-ALPN-01 certificate for a host. */
export type Challenge =
  | { readonly type: 'http-01'; readonly token: string; readonly keyAuthorization: string }
  | { readonly type: 'tls-alpn-01'; readonly host: string; readonly keyAuthorization: string };

/** ChallengeSink is where answers go while the CA validates: the proxy, or a store all instances watch. */
export interface ChallengeSink {
  /** set publishes an answer; it resolves once the instances that may be asked can give it. */
  set(challenge: Challenge): Promise<void>;
  delete(challenge: Challenge): Promise<void>;
}

/**
 * alpnCertificate makes RFC 8737's self-signed challenge certificate for `host`: the host as its only
 * name and the critical acmeIdentifier extension holding the SHA-256 of `keyAuthorization` (P-256 key).
 */
export async function alpnCertificate(
  host: string,
  keyAuthorization: string,
): Promise<{ cert: string; key: string }> {
  const acme = await import('acme-client');
  const key = await acme.crypto.createPrivateEcdsaKey();
  const [, cert] = await acme.crypto.createAlpnCertificate(
    { identifier: { type: 'dns', value: host } } as Parameters<typeof acme.crypto.createAlpnCertificate>[0],
    keyAuthorization,
    key,
  );
  return { cert: cert.toString(), key: key.toString() };
}

/**
 * ChallengeAnswers are the answers the data plane gives: this process's proxy (`AcmeChallenges`), or
 * with `--workers` every worker's (`WorkerChallenges`).
 */
export interface ChallengeAnswers {
  set(token: string, keyAuthorization: string): void;
  delete(token: string): void;
  setTlsAlpn(host: string, cert: string, key: string): void;
  deleteTlsAlpn(host: string): void;
  holdsTlsAlpn(host: string): boolean;
}

/** proxySink answers challenges from the data plane of this process (static mode). */
export function proxySink(answers: ChallengeAnswers): ChallengeSink {
  return {
    async set(challenge) {
      if (challenge.type === 'http-01') answers.set(challenge.token, challenge.keyAuthorization);
      else {
        const { cert, key } = await alpnCertificate(challenge.host, challenge.keyAuthorization);
        answers.setTlsAlpn(challenge.host, cert, key);
      }
    },
    async delete(challenge) {
      if (challenge.type === 'http-01') answers.delete(challenge.token);
      else answers.deleteTlsAlpn(challenge.host);
    },
  };
}
