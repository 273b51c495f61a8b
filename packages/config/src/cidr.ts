import { isIP } from 'node:net';

/** Cidr is a parsed network: its address family, base address and prefix length. */
export interface Cidr {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: string;
  readonly prefix: number;
}

/**
 * parseCidr reads `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128), and returns undefined for
 * anything else.
 */
export function parseCidr(value: string): Cidr | undefined {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { family: version === 4 ? 'ipv4' : 'ipv6', address, prefix: Number(prefixText) };
}
