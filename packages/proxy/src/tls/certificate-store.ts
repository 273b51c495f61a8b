import { constants, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContext, TlsOptions } from 'node:tls';
import {
  type CertificateConfig,
  DEFAULT_TLS,
  type ListenerConfig,
  type PorticoConfig,
} from '@portico/config';
import { nodeTls } from '../lazy-modules.ts';
import { type CertificateInfo, inspectCertificate } from './certificate-info.ts';
import { defaultCertificate } from './self-signed.ts';
import type { TlsIssue } from './tls-issue.ts';

/** ECDH_CURVES are the key-exchange groups of Mozilla's intermediate profile. */
const ECDH_CURVES = 'X25519:prime256v1:secp384r1';

/** ServedCertificate is a certificate as it serves now, for the admin API. */
export interface ServedCertificate {
  readonly name: string;
  /** hosts are the names it is chosen for by SNI. */
  readonly hosts: readonly string[];
  readonly info: CertificateInfo;
  /** stale is true when the configured version was refused and the previous good one still serves. */
  readonly stale: boolean;
}

/** ListenerTls is an HTTPS listener's certificates and policy, compiled once per config change. */
export interface ListenerTls {
  /** contextFor picks the context for a client's SNI: an exact name, then a one-label wildcard, then the default. */
  contextFor(servername: string): SecureContext;
  readonly defaultContext: SecureContext;
  /** serverOptions are the TLS server's options: the default certificate and the policy. */
  readonly serverOptions: TlsOptions;
  /** id changes whenever anything but the SNI certificates changes, so the listener's TLS server is rebuilt. */
  readonly id: string;
  /** requestCert and rejectUnauthorized carry the listener's client-certificate policy. */
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  readonly subjectHeader: string | undefined;
  /** subjectDrop holds `subjectHeader` lower-cased: the client's own field of that name is removed. */
  readonly subjectDrop: ReadonlySet<string> | undefined;
  readonly http2: boolean;
  readonly handshakeTimeoutMs: number;
  /** ticketKeys encrypt the session tickets (`sessionTicketKeyFile`); undefined: the proxy's. */
  readonly ticketKeys: Buffer | undefined;
  /** ocspStapling staples OCSP responses to handshakes that ask. */
  readonly ocspStapling: boolean;
}

/** TlsCompilation is the TLS part of a snapshot. */
export interface TlsCompilation {
  readonly listeners: ReadonlyMap<string, ListenerTls>;
  readonly certificates: readonly ServedCertificate[];
  readonly issues: readonly TlsIssue[];
}

interface GoodCertificate {
  readonly cert: string;
  readonly key: string;
  readonly info: CertificateInfo;
  readonly digest: string;
}

/**
 * CertificateStore turns the config's certificates into TLS contexts per HTTPS listener. It lives as long as
 * the proxy: contexts are reused while a certificate and its listener's policy are unchanged (so resumed
 * sessions keep working), and a certificate whose new version is refused (unreadable, invalid, key mismatch,
 * expired) keeps serving its last good version, with the refusal reported as an issue.
 */
export class CertificateStore {
  readonly #good = new Map<string, GoodCertificate>();
  #contexts = new Map<string, SecureContext>();

  /** compile reads and checks every certificate and builds each HTTPS listener's contexts. */
  compile(config: PorticoConfig, now = Date.now()): TlsCompilation {
    const issues: TlsIssue[] = [];
    const loaded = new Map<string, GoodCertificate & { stale: boolean }>();
    for (const cert of config.certificates) {
      const current = this.#load(cert, now, issues);
      const previous = this.#good.get(cert.name);
      if (current !== undefined) {
        this.#good.set(cert.name, current);
        loaded.set(cert.name, { ...current, stale: false });
      } else if (previous !== undefined) {
        loaded.set(cert.name, { ...previous, stale: true });
      }
    }
    for (const name of [...this.#good.keys()]) if (!loaded.has(name)) this.#good.delete(name);

    const contexts = new Map<string, SecureContext>();
    const listeners = new Map<string, ListenerTls>();
    const served: ServedCertificate[] = [];
    const hostsOf = (cert: CertificateConfig, good: GoodCertificate) =>
      (cert.hosts ?? good.info.dnsNames).map(normalizeName);
    for (const cert of config.certificates) {
      const good = loaded.get(cert.name);
      if (good !== undefined)
        served.push({ name: cert.name, hosts: hostsOf(cert, good), info: good.info, stale: good.stale });
    }
    for (const listener of config.listeners) {
      if (listener.protocol !== 'https') continue;
      const policy = listenerPolicy(listener, issues);
      const context = (pair: { cert: string; key: string; digest: string }) => {
        const id = `${pair.digest}|${policy.id}`;
        let ctx = contexts.get(id) ?? this.#contexts.get(id);
        ctx ??= nodeTls().createSecureContext({ cert: pair.cert, key: pair.key, ...policy.options });
        contexts.set(id, ctx);
        return ctx;
      };
      const exact = new Map<string, SecureContext>();
      const wildcard = new Map<string, SecureContext>();
      const names = listener.tls?.certificates ?? config.certificates.map((c) => c.name);
      for (const name of names) {
        const good = loaded.get(name);
        if (good === undefined) continue;
        const ctx = context(good);
        for (const host of hostsOf(config.certificates.find((c) => c.name === name)!, good)) {
          const table = host.startsWith('*.') ? wildcard : exact;
          const key = host.startsWith('*.') ? host.slice(1) : host;
          if (!table.has(key)) table.set(key, ctx); // the first certificate listed wins a shared name
        }
      }
      const named = listener.tls?.defaultCertificate;
      const fallback = named === undefined ? undefined : loaded.get(named);
      const defaultPair = fallback ?? { ...defaultCertificate(), digest: 'portico-default' };
      const defaultContext = context(defaultPair);
      const http2 = listener.tls?.http2 ?? DEFAULT_TLS.http2;
      const subjectHeader = listener.tls?.clientCertificate?.subjectHeader;
      const handshakeTimeoutMs = listener.tls?.handshakeTimeoutMs ?? DEFAULT_TLS.handshakeTimeoutMs;
      const ocspStapling = listener.tls?.ocspStapling ?? DEFAULT_TLS.ocspStapling;
      listeners.set(listener.name, {
        contextFor(servername: string): SecureContext {
          const name = normalizeName(servername);
          const hit = exact.get(name);
          if (hit !== undefined) return hit;
          const dot = name.indexOf('.');
          return (dot > 0 ? wildcard.get(name.slice(dot)) : undefined) ?? defaultContext;
        },
        defaultContext,
        serverOptions: { cert: defaultPair.cert, key: defaultPair.key, ...policy.options },
        id: `${defaultPair.digest}|${policy.id}|${policy.rejectUnauthorized}|${http2}|${handshakeTimeoutMs}|${ocspStapling}`,
        requestCert: policy.requestCert,
        rejectUnauthorized: policy.rejectUnauthorized,
        subjectHeader,
        subjectDrop: subjectHeader === undefined ? undefined : new Set([subjectHeader.toLowerCase()]),
        http2,
        handshakeTimeoutMs,
        ticketKeys: policy.ticketKeys,
        ocspStapling,
      });
    }
    this.#contexts = contexts;
    return { listeners, certificates: served, issues };
  }

  #load(cert: CertificateConfig, now: number, issues: TlsIssue[]): GoodCertificate | undefined {
    let certPem = cert.cert;
    let keyPem = cert.key;
    try {
      if (cert.certFile !== undefined) certPem = readFileSync(cert.certFile, 'utf8');
      if (cert.keyFile !== undefined) keyPem = readFileSync(cert.keyFile, 'utf8');
    } catch (error) {
      issues.push({
        code: 'PORTICO_TLS_FILE_UNREADABLE',
        severity: 'error',
        certificate: cert.name,
        message: (error as Error).message,
      });
      return undefined;
    }
    if (certPem === undefined || keyPem === undefined) return undefined; // refused by validation
    const digest = createHash('sha256').update(certPem).update('\0').update(keyPem).digest('base64');
    const { info, issue } = inspectCertificate(
      cert.name,
      certPem,
      keyPem,
      now,
      DEFAULT_TLS.expiryWarningDays,
    );
    if (issue !== undefined) issues.push(issue); // checked every time: an unchanged file can expire
    if (info === undefined) return undefined;
    const previous = this.#good.get(cert.name);
    if (previous?.digest === digest) return previous;
    try {
      nodeTls().createSecureContext({ cert: certPem, key: keyPem }); // OpenSSL's own checks (chain order, key type)
    } catch (error) {
      issues.push({
        code: 'PORTICO_TLS_CERT_INVALID',
        severity: 'error',
        certificate: cert.name,
        message: `OpenSSL refuses it: ${(error as Error).message}`,
      });
      return undefined;
    }
    return { cert: certPem, key: keyPem, info, digest };
  }
}

interface ListenerPolicy {
  /** id identifies the options, so contexts are shared only between identical policies. */
  readonly id: string;
  readonly options: Parameters<typeof import('node:tls').createSecureContext>[0];
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  readonly ticketKeys: Buffer | undefined;
}

/** TICKET_KEY_BYTES is the size of a session ticket key file: name, HMAC key and AES key, 16 bytes each. */
const TICKET_KEY_BYTES = 48;

/** listenerPolicy turns a listener's TLS settings into `createSecureContext` options. */
function listenerPolicy(listener: ListenerConfig, issues: TlsIssue[]): ListenerPolicy {
  const tls = listener.tls;
  const minVersion = tls?.minVersion ?? DEFAULT_TLS.minVersion;
  const ciphers = tls?.ciphers ?? DEFAULT_TLS.ciphers;
  const tickets = tls?.sessionTickets ?? DEFAULT_TLS.sessionTickets;
  const client = tls?.clientCertificate;
  let ca: string | undefined;
  if (client !== undefined) {
    try {
      ca = client.ca ?? readFileSync(client.caFile!, 'utf8');
    } catch (error) {
      issues.push({
        code: 'PORTICO_TLS_FILE_UNREADABLE',
        severity: 'error',
        certificate: `${listener.name}.clientCertificate`,
        message: `${(error as Error).message}; every client certificate is refused until it can be read`,
      });
      ca = ''; // no CA: nothing verifies, so a required client certificate refuses everyone
    }
  }
  let ticketKeys: Buffer | undefined;
  if (tls?.sessionTicketKeyFile !== undefined) {
    try {
      ticketKeys = readFileSync(tls.sessionTicketKeyFile);
      if (ticketKeys.length !== TICKET_KEY_BYTES)
        throw new Error(
          `${tls.sessionTicketKeyFile} holds ${ticketKeys.length} bytes; a session ticket key file holds ${TICKET_KEY_BYTES} (make one with: openssl rand 48 > file)`,
        );
    } catch (error) {
      ticketKeys = undefined;
      issues.push({
        code: 'PORTICO_TLS_FILE_UNREADABLE',
        severity: 'error',
        certificate: `${listener.name}.sessionTicketKeyFile`,
        message: `${(error as Error).message}; the listener's tickets use the process's own keys until it can be read`,
      });
    }
  }
  let secureOptions = constants.SSL_OP_NO_RENEGOTIATION;
  if (!tickets) secureOptions |= constants.SSL_OP_NO_TICKET;
  const options = {
    minVersion,
    ciphers,
    ecdhCurve: ECDH_CURVES,
    honorCipherOrder: false,
    secureOptions,
    sessionIdContext: `portico:${listener.name}`.slice(0, 32),
    ...(ca === undefined ? {} : { ca }),
  };
  const caDigest = ca === undefined ? '' : createHash('sha256').update(ca).digest('base64');
  const keysDigest = ticketKeys === undefined ? '' : createHash('sha256').update(ticketKeys).digest('base64');
  return {
    id: `${minVersion}|${ciphers}|${tickets}|${caDigest}|${keysDigest}|${listener.name}`,
    ticketKeys,
    options,
    requestCert: client !== undefined,
    rejectUnauthorized: client?.required ?? false,
  };
}

/** normalizeName lower-cases a host name and drops a trailing dot. */
function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
