import { BlockList } from 'node:net';
import { type ForwardingConfig, parseCidr } from '@portico/config';
import type { RequestHead } from './http/request-head.ts';

/**
 * FORWARDING_FIELDS are the request fields this policy writes: a client's own are never passed on as
 * they are (a trusted peer's values are carried into the chain).
 */
export const FORWARDING_FIELDS: readonly string[] = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'forwarded',
];

/** ForwardingInput is what forwarding decisions read from a request. */
export type ForwardingInput = Pick<
  RequestHead,
  'host' | 'version' | 'forwardedFor' | 'forwardedProto' | 'forwardedHost' | 'forwardedPort' | 'forwarded'
>;

/**
 * ForwardingPolicy decides what the upstream hears about the client. A client connecting from a trusted
 * proxy (`forwarding.trustedProxies`) keeps the `X-Forwarded-*` and `Forwarded` values it sent, and its
 * own address is appended to the chain; anyone else's values are dropped and replaced by what Portico
 * saw. `X-Real-IP` is the nearest address in the chain that is not a trusted proxy.
 */
export class ForwardingPolicy {
  readonly #trusted: BlockList | undefined;
  readonly #forwarded: boolean;
  readonly #via: boolean;

  constructor(config: ForwardingConfig) {
    if (config.trustedProxies.length > 0) {
      this.#trusted = new BlockList();
      for (const value of config.trustedProxies) {
        const cidr = parseCidr(value);
        if (cidr) this.#trusted.addSubnet(cidr.address, cidr.prefix, cidr.family);
      }
    }
    this.#forwarded = config.forwardedHeader;
    this.#via = config.viaHeader;
  }

  /** via tells whether `Via: 1.1 portico` is added. */
  get via(): boolean {
    return this.#via;
  }

  /** trusts tells whether `address` (the connection's peer) is a trusted proxy. */
  trusts(address: string): boolean {
    if (this.#trusted === undefined) return false;
    return this.#trusted.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
  }

  /**
   * connectionLines renders the lines that are the same for every request from an untrusted peer:
   * `X-Forwarded-For`, `X-Real-IP`, `X-Forwarded-Proto` and `X-Forwarded-Port`.
   */
  connectionLines(address: string, port: number, proto: string): string {
    return `x-forwarded-for: ${address}\r\nx-real-ip: ${address}\r\nx-forwarded-proto: ${proto}\r\nx-forwarded-port: ${port}\r\n`;
  }

  /**
   * requestLines renders every forwarding line for one request: `connection` (from `connectionLines`) for
   * an untrusted peer, or the client's chain extended with the peer for a trusted one, plus
   * `X-Forwarded-Host`, and `Forwarded` and `Via` when configured.
   */
  requestLines(
    req: ForwardingInput,
    connection: string,
    trusted: boolean,
    peer: string,
    port: number,
    proto: string,
  ): string {
    let lines: string;
    let clientAddress = peer;
    let forwardedProto = proto;
    let forwardedHost = req.host;
    if (trusted && req.forwardedFor !== undefined) {
      const chain = `${req.forwardedFor}, ${peer}`;
      clientAddress = this.#realIp(chain);
      forwardedProto = req.forwardedProto ?? proto;
      forwardedHost = req.forwardedHost ?? req.host;
      lines =
        `x-forwarded-for: ${chain}\r\nx-real-ip: ${clientAddress}\r\nx-forwarded-proto: ${forwardedProto}\r\n` +
        `x-forwarded-port: ${req.forwardedPort ?? port}\r\n`;
    } else {
      lines = connection;
    }
    lines += `x-forwarded-host: ${forwardedHost}\r\n`;
    if (this.#forwarded) {
      const element = `for=${quoteNode(peer)};proto=${proto};host=${quoteHost(req.host)}`;
      lines += `forwarded: ${trusted && req.forwarded !== undefined ? `${req.forwarded}, ${element}` : element}\r\n`;
    }
    if (this.#via) lines += req.version === 11 ? 'via: 1.1 portico\r\n' : 'via: 1.0 portico\r\n';
    return lines;
  }

  /** clientAddress is the client's address after trust rules: the real IP for a trusted peer's chain. */
  clientAddress(req: ForwardingInput, trusted: boolean, peer: string): string {
    return trusted && req.forwardedFor !== undefined ? this.#realIp(`${req.forwardedFor}, ${peer}`) : peer;
  }

  /** #realIp walks the chain from the right and returns the first address that is not a trusted proxy. */
  #realIp(chain: string): string {
    const hops = chain.split(',').map((hop) => hop.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!this.trusts(hop)) return hop;
    }
    return hops[0]!;
  }
}

function quoteNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}

function quoteHost(host: string): string {
  return /^[A-Za-z0-9.-]+$/.test(host) ? host : `"${host.replaceAll('"', '')}"`;
}
