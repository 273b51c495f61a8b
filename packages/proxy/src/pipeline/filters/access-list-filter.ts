import { BlockList, isIPv6 } from 'node:net';
import { type AccessListConfig, parseCidr } from '@portico/config';
import type { Filter, FilterExchange } from '../filter.ts';
import type { LocalReply } from '../local-reply.ts';

const FORBIDDEN: LocalReply = {
  status: 403,
  fields: ['content-type', 'text/plain; charset=utf-8'],
  body: 'forbidden\n',
  refusal: 'denied',
};

/**
 * AccessListFilter refuses clients by address (`routes[].access`, `listeners[].access`): with `allow`,
 * only those addresses and networks are served; `deny` refuses its own even when `allow` has them. The
 * address is the one Portico trusts (after the PROXY protocol and a trusted X-Forwarded-For); a refused
 * client gets 403 and the request goes nowhere.
 */
export class AccessListFilter implements Filter {
  readonly name = 'access';
  readonly #allow: BlockList | undefined;
  readonly #deny: BlockList | undefined;

  constructor(access: AccessListConfig) {
    this.#allow = access.allow === undefined ? undefined : blockList(access.allow);
    this.#deny = access.deny === undefined ? undefined : blockList(access.deny);
  }

  request(exchange: FilterExchange): LocalReply | undefined {
    return this.allows(exchange.clientAddress()) ? undefined : FORBIDDEN;
  }

  /** allows tells whether a client at `address` may be served. */
  allows(address: string): boolean {
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (this.#deny?.check(address, family) === true) return false;
    return this.#allow === undefined || this.#allow.check(address, family);
  }
}

function blockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const cidr = parseCidr(entry);
    if (cidr !== undefined) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}
