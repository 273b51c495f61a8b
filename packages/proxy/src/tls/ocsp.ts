import { createHash, X509Certificate } from 'node:crypto';
import { type Der, derBytes, derChildren, derTime, derValue, encodeDer, readDer } from './der.ts';

const SEQUENCE = 0x30;
const SHA1 = Buffer.from('06052b0e03021a0500', 'hex'); // AlgorithmIdentifier sha1 OID + NULL params
const BASIC_RESPONSE = Buffer.from('2b0601050507300101', 'hex'); // id-pkix-ocsp-basic

/** OcspStatus is a certificate's status in an OCSP response (RFC 6960 4.2.1). */
export type OcspStatus = 'good' | 'revoked' | 'unknown';

/** OcspResponse is what stapling needs from a response: its status and validity, in ms since the epoch. */
export interface OcspResponse {
  readonly status: OcspStatus;
  readonly thisUpdate: number;
  /** nextUpdate is when newer information will be available; undefined when the responder gave none. */
  readonly nextUpdate: number | undefined;
}

/** tbsFields returns a certificate's TBSCertificate fields, without the optional version. */
function tbsFields(cert: Buffer): Der[] {
  const tbs = derChildren(readDer(cert))[0]!;
  const fields = derChildren(tbs);
  return fields[0]!.tag === 0xa0 ? fields.slice(1) : fields;
}

/**
 * ocspRequest builds the DER OCSP request (RFC 6960 4.1) for `cert` (DER) issued by `issuer` (DER): one
 * CertID with SHA-1 hashes of the issuer's name and key, as every responder accepts.
 */
export function ocspRequest(cert: Buffer, issuer: Buffer): Buffer {
  const [serial, , issuerName] = tbsFields(cert);
  const spki = tbsFields(issuer)[5]!;
  const publicKey = derValue(derChildren(spki)[1]!).subarray(1); // BIT STRING: skip the unused-bits byte
  const sha1 = (data: Buffer) => createHash('sha1').update(data).digest();
  const certId = encodeDer(
    SEQUENCE,
    encodeDer(SEQUENCE, SHA1),
    encodeDer(0x04, sha1(derBytes(issuerName!))),
    encodeDer(0x04, sha1(publicKey)),
    derBytes(serial!),
  );
  return encodeDer(SEQUENCE, encodeDer(SEQUENCE, encodeDer(SEQUENCE, encodeDer(SEQUENCE, certId))));
}

/**
 * parseOcspResponse reads a DER OCSP response: it throws unless the responder answered `successful` with
 * a basic response, and returns the first SingleResponse's status and times. The signature is the
 * client's to verify (as with nginx's `ssl_stapling_verify off`).
 */
export function parseOcspResponse(der: Buffer): OcspResponse {
  const top = derChildren(readDer(der));
  const status = derValue(top[0]!)[0];
  if (top[0]!.tag !== 0x0a || status !== 0) throw new Error(`OCSP responder answered status ${status}`);
  const bytes = derChildren(derChildren(top[1]!)[0]!);
  if (!derValue(bytes[0]!).equals(BASIC_RESPONSE)) throw new Error('OCSP response is not a basic response');
  const basic = derChildren(readDer(derValue(bytes[1]!)));
  const data = derChildren(basic[0]!).filter((f) => f.tag !== 0xa0); // without the version
  const single = derChildren(derChildren(data[2]!)[0]!);
  const statusTag = single[1]!.tag;
  const nextUpdate = single.find((f) => f.tag === 0xa0);
  return {
    status: statusTag === 0x80 ? 'good' : statusTag === 0xa1 ? 'revoked' : 'unknown',
    thisUpdate: derTime(single[2]!),
    nextUpdate: nextUpdate === undefined ? undefined : derTime(derChildren(nextUpdate)[0]!),
  };
}

/** ocspUrl returns the OCSP responder a certificate names (Authority Information Access), or undefined. */
export function ocspUrl(cert: Buffer): string | undefined {
  const info = new X509Certificate(cert).infoAccess;
  const m = /OCSP - URI:(http:\/\/[^\s]+)/.exec(info ?? '');
  return m?.[1];
}
