import { isIPv4, isIPv6 } from 'node:net';

/** ProxyHeader is what a PROXY protocol header says about the connection it precedes. */
export interface ProxyHeader {
  /** local is true for v1 `UNKNOWN` and v2 `LOCAL`: the sender's own connection (health checks). */
  readonly local: boolean;
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
}

/** The outcome of parsing: a header and its length, more bytes needed, or a malformed header. */
export type ProxyParse =
  | { readonly kind: 'header'; readonly header: ProxyHeader; readonly length: number }
  | { readonly kind: 'more' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** V2_SIGNATURE starts every PROXY protocol v2 header. */
export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** V1_MAX_LENGTH is the longest v1 header, CRLF included (the specification's 107 bytes). */
const V1_MAX_LENGTH = 107;
/** V2_MAX_LENGTH bounds a v2 header with its TLVs. */
const V2_MAX_LENGTH = 16 + 4_096;

/** looksLikeProxyHeader tells whether `buf` starts (or may start, if short) with a PROXY header. */
export function looksLikeProxyHeader(buf: Buffer): boolean {
  const n = Math.min(buf.length, 12);
  const v1 = buf.subarray(0, Math.min(n, 6)).equals(V1_PREFIX.subarray(0, Math.min(n, 6)));
  const v2 = buf.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n));
  return v1 || v2;
}

/**
 * parseProxyHeader reads a PROXY protocol v1 or v2 header (haproxy's proxy-protocol.txt) at the start of
 * `buf`. It is strict: v1 must be `PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n` with valid
 * addresses and ports; v2 must have version 2, command LOCAL or PROXY, and a length that fits the family.
 */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return { kind: 'more' };
  if (buf[0] === 0x0d) return parseV2(buf);
  if (buf[0] === 0x50) return parseV1(buf);
  return { kind: 'invalid', reason: 'no PROXY protocol header' };
}

function parseV1(buf: Buffer): ProxyParse {
  if (!buf.subarray(0, Math.min(buf.length, 6)).equals(V1_PREFIX.subarray(0, Math.min(buf.length, 6)))) {
    return { kind: 'invalid', reason: 'no PROXY protocol header' };
  }
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end < 0)
    return buf.length >= V1_MAX_LENGTH ? { kind: 'invalid', reason: 'v1 header too long' } : { kind: 'more' };
  if (end + 2 > V1_MAX_LENGTH) return { kind: 'invalid', reason: 'v1 header too long' };
  const parts = buf.toString('latin1', 6, end).split(' ');
  const length = end + 2;
  if (parts[0] === 'UNKNOWN') {
    return {
      kind: 'header',
      length,
      header: { local: true, sourceAddress: '', sourcePort: 0, destinationAddress: '', destinationPort: 0 },
    };
  }
  if (parts.length !== 5) return { kind: 'invalid', reason: 'v1 header needs 5 fields' };
  const [family, src, dst, sport, dport] = parts as [string, string, string, string, string];
  const valid = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : undefined;
  if (valid === undefined) return { kind: 'invalid', reason: `v1 family ${family}` };
  if (!valid(src) || !valid(dst)) return { kind: 'invalid', reason: 'v1 address' };
  const port = (text: string) =>
    /^(0|[1-9]\d{0,4})$/.test(text) && Number(text) <= 65_535 ? Number(text) : -1;
  const sourcePort = port(sport);
  const destinationPort = port(dport);
  if (sourcePort < 0 || destinationPort < 0) return { kind: 'invalid', reason: 'v1 port' };
  return {
    kind: 'header',
    length,
    header: { local: false, sourceAddress: src, sourcePort, destinationAddress: dst, destinationPort },
  };
}

function parseV2(buf: Buffer): ProxyParse {
  const n = Math.min(buf.length, 12);
  if (!buf.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n)))
    return { kind: 'invalid', reason: 'no PROXY protocol header' };
  if (buf.length < 16) return { kind: 'more' };
  const versionCommand = buf[12]!;
  if (versionCommand >> 4 !== 2) return { kind: 'invalid', reason: 'v2 version' };
  const command = versionCommand & 0x0f;
  if (command > 1) return { kind: 'invalid', reason: 'v2 command' };
  const family = buf[13]!;
  const length = buf.readUInt16BE(14);
  if (16 + length > V2_MAX_LENGTH) return { kind: 'invalid', reason: 'v2 header too long' };
  if (buf.length < 16 + length) return { kind: 'more' };
  const total = 16 + length;
  if (command === 0) {
    return {
      kind: 'header',
      length: total,
      header: { local: true, sourceAddress: '', sourcePort: 0, destinationAddress: '', destinationPort: 0 },
    };
  }
  if (family === 0x11 || family === 0x12) {
    if (length < 12) return { kind: 'invalid', reason: 'v2 length too short for IPv4' };
    const ip = (at: number) => `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
    return {
      kind: 'header',
      length: total,
      header: {
        local: false,
        sourceAddress: ip(16),
        destinationAddress: ip(20),
        sourcePort: buf.readUInt16BE(24),
        destinationPort: buf.readUInt16BE(26),
      },
    };
  }
  if (family === 0x21 || family === 0x22) {
    if (length < 36) return { kind: 'invalid', reason: 'v2 length too short for IPv6' };
    const ip = (at: number) => {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(at + i).toString(16));
      return compressIPv6(groups);
    };
    return {
      kind: 'header',
      length: total,
      header: {
        local: false,
        sourceAddress: ip(16),
        destinationAddress: ip(32),
        sourcePort: buf.readUInt16BE(48),
        destinationPort: buf.readUInt16BE(50),
      },
    };
  }
  if (family === 0x00) {
    return {
      kind: 'header',
      length: total,
      header: { local: true, sourceAddress: '', sourcePort: 0, destinationAddress: '', destinationPort: 0 },
    };
  }
  return { kind: 'invalid', reason: `v2 family 0x${family.toString(16)}` };
}

function compressIPv6(groups: string[]): string {
  let best = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength && j - i > 1) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/**
 * encodeProxyHeader writes a PROXY protocol header for a connection from `source` to `destination`: v1 as
 * text, v2 as binary (TCP over IPv4 or IPv6, command PROXY). IPv4-mapped IPv6 addresses are sent as IPv4.
 */
export function encodeProxyHeader(version: 'v1' | 'v2', header: Omit<ProxyHeader, 'local'>): Buffer {
  const src = unmap(header.sourceAddress);
  const dst = unmap(header.destinationAddress);
  const ipv4 = isIPv4(src) && isIPv4(dst);
  if (version === 'v1') {
    return Buffer.from(
      `PROXY ${ipv4 ? 'TCP4' : 'TCP6'} ${src} ${dst} ${header.sourcePort} ${header.destinationPort}\r\n`,
      'latin1',
    );
  }
  const addresses = ipv4 ? 12 : 36;
  const out = Buffer.alloc(16 + addresses);
  V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21; // version 2, PROXY
  out[13] = ipv4 ? 0x11 : 0x21; // TCP over IPv4 / IPv6
  out.writeUInt16BE(addresses, 14);
  if (ipv4) {
    src.split('.').forEach((octet, i) => {
      out[16 + i] = Number(octet);
    });
    dst.split('.').forEach((octet, i) => {
      out[20 + i] = Number(octet);
    });
    out.writeUInt16BE(header.sourcePort, 24);
    out.writeUInt16BE(header.destinationPort, 26);
  } else {
    writeIPv6(out, 16, isIPv4(src) ? `::ffff:${src}` : src);
    writeIPv6(out, 32, isIPv4(dst) ? `::ffff:${dst}` : dst);
    out.writeUInt16BE(header.sourcePort, 48);
    out.writeUInt16BE(header.destinationPort, 50);
  }
  return out;
}

function unmap(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function writeIPv6(out: Buffer, at: number, address: string): void {
  let text = address;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (isIPv4(text.slice(lastColon + 1))) {
    const octets = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    tail = [(octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!];
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':').filter(Boolean) : [];
  const right = rest ? rest.split(':').filter(Boolean) : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right].map((g) =>
    Number.parseInt(g, 16),
  );
  if (tail.length === 2) {
    groups[6] = tail[0]!;
    groups[7] = tail[1]!;
  }
  for (let i = 0; i < 8; i++) out.writeUInt16BE(groups[i]!, at + i * 2);
}
