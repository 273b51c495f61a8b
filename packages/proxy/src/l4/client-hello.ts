/** ClientHelloInfo is what routing by SNI needs from a TLS ClientHello. */
export interface ClientHelloInfo {
  /** serverName is the SNI host name in lower case, or undefined when the client sent none. */
  readonly serverName: string | undefined;
  /** alpn lists the protocols the client offers (`h2`, `http/1.1`), in its order. */
  readonly alpn: readonly string[];
}

/** The outcome of reading a ClientHello: its info, more bytes needed, or not TLS. */
export type ClientHelloParse =
  | { readonly kind: 'hello'; readonly info: ClientHelloInfo }
  | { readonly kind: 'more' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** MAX_HELLO_BYTES bounds the ClientHello Portico will wait for: 64 KiB, more than any real client sends. */
export const MAX_HELLO_BYTES = 65_536;

/**
 * parseClientHello reads the TLS records at the start of `buf` (without terminating TLS), joins the
 * handshake fragments, and extracts SNI and ALPN from the ClientHello (RFC 8446 4.1.2, RFC 6066 3,
 * RFC 7301). It needs no more bytes than the ClientHello itself, and never consumes any: the caller
 * forwards `buf` untouched.
 */
export function parseClientHello(buf: Buffer): ClientHelloParse {
  const handshake: Buffer[] = [];
  let handshakeBytes = 0;
  let needed = -1;
  let at = 0;
  while (needed < 0 || handshakeBytes < needed) {
    if (buf.length < at + 5)
      return buf.length >= MAX_HELLO_BYTES ? invalid('ClientHello too large') : { kind: 'more' };
    if (buf[at] !== 0x16) return invalid('not a TLS handshake record');
    if (buf[at + 1] !== 0x03) return invalid('not a TLS record version');
    const length = buf.readUInt16BE(at + 3);
    if (length === 0 || length > 16_384 + 2_048) return invalid('bad record length');
    if (buf.length < at + 5 + length)
      return at + 5 + length > MAX_HELLO_BYTES ? invalid('ClientHello too large') : { kind: 'more' };
    handshake.push(buf.subarray(at + 5, at + 5 + length));
    handshakeBytes += length;
    at += 5 + length;
    if (needed < 0 && handshakeBytes >= 4) {
      const head = Buffer.concat(handshake);
      if (head[0] !== 0x01) return invalid('first handshake message is not a ClientHello');
      needed = 4 + ((head[1]! << 16) | (head[2]! << 8) | head[3]!);
      if (needed > MAX_HELLO_BYTES) return invalid('ClientHello too large');
    }
  }
  return readHello(Buffer.concat(handshake).subarray(4, needed));
}

function invalid(reason: string): ClientHelloParse {
  return { kind: 'invalid', reason };
}

function readHello(hello: Buffer): ClientHelloParse {
  let p = 2 + 32; // legacy_version, random
  if (hello.length < p + 1) return invalid('truncated ClientHello');
  p += 1 + hello[p]!; // legacy_session_id
  if (hello.length < p + 2) return invalid('truncated ClientHello');
  p += 2 + hello.readUInt16BE(p); // cipher_suites
  if (hello.length < p + 1) return invalid('truncated ClientHello');
  p += 1 + hello[p]!; // legacy_compression_methods
  if (p === hello.length) return { kind: 'hello', info: { serverName: undefined, alpn: [] } }; // no extensions
  if (hello.length < p + 2) return invalid('truncated extensions');
  const end = p + 2 + hello.readUInt16BE(p);
  if (end > hello.length) return invalid('truncated extensions');
  p += 2;
  let serverName: string | undefined;
  const alpn: string[] = [];
  while (p + 4 <= end) {
    const type = hello.readUInt16BE(p);
    const length = hello.readUInt16BE(p + 2);
    const body = p + 4;
    if (body + length > end) return invalid('truncated extension');
    if (type === 0x0000 && length >= 5) {
      // server_name: list length (2), then entries of type (1), length (2), name
      let q = body + 2;
      const listEnd = Math.min(body + 2 + hello.readUInt16BE(body), body + length);
      while (q + 3 <= listEnd) {
        const nameType = hello[q]!;
        const nameLength = hello.readUInt16BE(q + 1);
        if (q + 3 + nameLength > listEnd) return invalid('truncated server_name');
        if (nameType === 0) {
          serverName = hello.toString('latin1', q + 3, q + 3 + nameLength).toLowerCase();
          if (!/^[a-z0-9.-]+$/.test(serverName)) return invalid('server_name is not a host name');
          break;
        }
        q += 3 + nameLength;
      }
    } else if (type === 0x0010 && length >= 2) {
      let q = body + 2;
      const listEnd = Math.min(body + 2 + hello.readUInt16BE(body), body + length);
      while (q < listEnd) {
        const protocolLength = hello[q]!;
        if (protocolLength === 0 || q + 1 + protocolLength > listEnd) return invalid('bad ALPN list');
        alpn.push(hello.toString('latin1', q + 1, q + 1 + protocolLength));
        q += 1 + protocolLength;
      }
    }
    p = body + length;
  }
  return { kind: 'hello', info: { serverName, alpn } };
}
