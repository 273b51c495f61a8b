import { BlockList } from 'node:net';
import type { ListenerConfig } from '@portico/config';
import { parseCidr } from '@portico/config';
import { compileRouteTable, type RouteTable } from '@portico/router';
import type { ServiceBalancer } from '../balancer/service-balancer.ts';

/** L4Route is how an L4 (or PROXY-protocol) listener routes, compiled once per snapshot. */
export interface L4Route {
  readonly config: ListenerConfig;
  /** service takes every connection of a `tcp` listener. */
  readonly service: ServiceBalancer | undefined;
  /** sni routes a `tls-passthrough` listener by server name (exact and one-label wildcards). */
  readonly sni: RouteTable<ServiceBalancer> | undefined;
  /** defaultService takes passthrough connections with no or an unknown SNI, or no valid ClientHello. */
  readonly defaultService: ServiceBalancer | undefined;
  /** trustedSources may (and must) send a PROXY protocol header; undefined when the listener takes none. */
  readonly trustedSources: BlockList | undefined;
  readonly connectTimeoutMs: number;
}

/** compileL4Route builds a listener's routing from its config and the snapshot's services. */
export function compileL4Route(
  config: ListenerConfig,
  services: ReadonlyMap<string, ServiceBalancer>,
  connectTimeoutMs: number,
): L4Route {
  let trustedSources: BlockList | undefined;
  if (config.proxyProtocol !== undefined) {
    trustedSources = new BlockList();
    for (const value of config.proxyProtocol.trustedSources) {
      const cidr = parseCidr(value);
      if (cidr) trustedSources.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }
  const sni =
    config.sni === undefined
      ? config.protocol === 'tls-passthrough'
        ? compileRouteTable<ServiceBalancer>([]).table
        : undefined
      : compileRouteTable(
          config.sni.map((entry) => ({
            host: entry.host,
            paths: [{ path: '/', type: 'Prefix' as const, target: services.get(entry.service)! }],
          })),
        ).table;
  return {
    config,
    service: config.service === undefined ? undefined : services.get(config.service),
    sni,
    defaultService: config.defaultService === undefined ? undefined : services.get(config.defaultService),
    trustedSources,
    connectTimeoutMs,
  };
}

/** trusts tells whether a peer may send a PROXY header to this listener. */
export function trustsSource(route: L4Route, address: string): boolean {
  if (route.trustedSources === undefined) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return route.trustedSources.check(plain, plain.includes(':') ? 'ipv6' : 'ipv4');
}
