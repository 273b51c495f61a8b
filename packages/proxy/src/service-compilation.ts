import type { PorticoConfig } from '@portico/config';
import { LayeredMap } from '@portico/router';
import { ServiceBalancer } from './balancer/service-balancer.ts';
import type { ServiceRegistry } from './balancer/service-state.ts';
import type { EndpointRegistry } from './upstream/endpoint-registry.ts';

/** ServiceChanges say what a compilation did to the previous one's services. */
export interface ServiceChanges {
  /** added are the balancers built for new or changed services. */
  readonly added: readonly ServiceBalancer[];
  /** dropped are the previous balancers replaced or removed. */
  readonly dropped: readonly ServiceBalancer[];
  /** removed are the names of services the config no longer has. */
  readonly removed: readonly string[];
}

/** ServiceCompilation is a config's services compiled into balancers by name. */
export interface ServiceCompilation {
  readonly services: LayeredMap<string, ServiceBalancer>;
  /** changes are relative to the previous compilation; 'all' when there was none. */
  readonly changes: ServiceChanges | 'all';
}

/**
 * compileServices builds a balancer for each service of `config`. A service that is the very object the
 * previous config had (a source that rebuilds only what changed, as the Kubernetes one does) keeps its
 * balancer. What changed is found by identity, place by place, and the map of balancers is derived from
 * the previous one (`LayeredMap.with`), so a change to one of thousands of services costs microseconds;
 * only a removal looks at every name.
 */
export function compileServices(
  config: PorticoConfig,
  registry: EndpointRegistry,
  states: ServiceRegistry,
  previous:
    | { readonly config: PorticoConfig; readonly services: LayeredMap<string, ServiceBalancer> }
    | undefined,
): ServiceCompilation {
  const build = (service: (typeof config.services)[number]) =>
    new ServiceBalancer(service, registry, states.get(service.name));
  if (previous === undefined)
    return { services: LayeredMap.from(config.services.map((s) => [s.name, build(s)])), changes: 'all' };
  const before = previous.config.services;
  const map = previous.services;
  const updates: [string, ServiceBalancer | undefined][] = [];
  const added: ServiceBalancer[] = [];
  const dropped: ServiceBalancer[] = [];
  let kept = 0;
  config.services.forEach((service, i) => {
    if (before[i] === service) {
      kept++;
      return;
    }
    const old = map.get(service.name);
    if (old !== undefined) kept++;
    if (old?.config === service) return;
    const balancer = build(service);
    updates.push([service.name, balancer]);
    added.push(balancer);
    if (old !== undefined) dropped.push(old);
  });
  const removed: string[] = [];
  if (kept < map.size) {
    const names = new Set(config.services.map((s) => s.name));
    for (const [name, old] of map) {
      if (names.has(name)) continue;
      updates.push([name, undefined]);
      dropped.push(old);
      removed.push(name);
    }
  }
  return {
    services: updates.length === 0 ? map : map.with(updates),
    changes: { added, dropped, removed },
  };
}
