import type { TLSSocket } from 'node:tls';

/**
 * clientCertificateLines renders the field line that tells the backend who the client is: the verified
 * client certificate's subject as `CN=alice,O=Example` (RFC 4514 order: most specific first), under the
 * header the listener names. An unverified or missing certificate sends the header empty, so a client cannot
 * supply it itself (the engine replaces any the client sent).
 */
export function clientCertificateLines(socket: TLSSocket, header: string): string {
  if (!socket.authorized) return `${header}: \r\n`;
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
  if (subject === undefined) return `${header}: \r\n`;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(subject).reverse()) {
    for (const one of Array.isArray(value) ? value : [value]) parts.push(`${key}=${escapeRdn(one)}`);
  }
  return `${header}: ${parts.join(',')}\r\n`;
}

/** escapeRdn escapes a distinguished-name value (RFC 4514 2.4) and drops control characters. */
function escapeRdn(value: string): string {
  return value.replace(/[\x00-\x1f\x7f]/g, '').replace(/([,+"\\<>;=])/g, '\\$1');
}
