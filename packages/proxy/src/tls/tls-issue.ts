/**
 * TLS_ISSUE_CODES lists every code a `TlsIssue` carries. `docs/errors.md` lists the same codes. An `error`
 * leaves the certificate out (the previous good version of it keeps serving); a `warning` keeps it.
 */
export const TLS_ISSUE_CODES = {
  PORTICO_TLS_FILE_UNREADABLE: 'A certificate, key or CA file cannot be read.',
  PORTICO_TLS_CERT_INVALID: 'The certificate or key is not valid PEM, or OpenSSL refuses it.',
  PORTICO_TLS_KEY_MISMATCH: 'The private key does not belong to the certificate.',
  PORTICO_TLS_CERT_EXPIRED: 'The certificate is past its notAfter date.',
  PORTICO_TLS_CERT_NOT_YET_VALID: 'The certificate is before its notBefore date.',
  PORTICO_TLS_CERT_EXPIRING: 'The certificate expires within 14 days (a warning).',
} as const;

export type TlsIssueCode = keyof typeof TLS_ISSUE_CODES;

/** TlsIssue is a problem found with one certificate when a config was applied. */
export interface TlsIssue {
  readonly code: TlsIssueCode;
  readonly severity: 'error' | 'warning';
  /** certificate is the certificate's name in the config. */
  readonly certificate: string;
  readonly message: string;
}
