import type { RouteConfig, ServiceConfig } from './schema.ts';

/** ServiceDiff is where a list of services differs from the last valid one, with every name's index. */
export interface ServiceDiff {
  readonly names: ReadonlyMap<string, number>;
  /** changed are the indexes whose service is not the object the last valid list had there. */
  readonly changed: readonly number[];
}

/**
 * ValidationMemo lets `validateConfig` check, in configs that share most of their objects with the last
 * valid one (the Kubernetes source rebuilds only what changed), only what is new: the schema and the
 * checks of its own are skipped for an item that passed them before (the same object), and the names of
 * services are found from the last valid list and the few places that differ. One memo serves one
 * sequence of configs; it is not shared.
 */
export class ValidationMemo {
  /** items are the services and routes (by identity) that passed every check of their own. */
  readonly items = new WeakSet<object>();
  #services: readonly ServiceConfig[] = [];
  #routes: readonly RouteConfig[] = [];
  /** #listeners identifies the listeners routes could name when the routes were checked. */
  #listeners = '';
  /** #names maps each service name of the last valid config to its index; undefined: not known. */
  #names: Map<string, number> | undefined;

  /**
   * last returns the services or routes of the last valid config, to compare by identity, place by
   * place (empty when there is none; routes only while the service names are known too, and the
   * listeners, identified by `listeners`, are the same).
   */
  last(field: 'services' | 'routes', listeners = this.#listeners): readonly object[] {
    if (field === 'services') return this.#services;
    return this.#names === undefined || listeners !== this.#listeners ? [] : this.#routes;
  }

  /**
   * diffServices finds the names of `services` from the last valid list, or returns undefined when that
   * cannot be done safely (no valid list yet, a name left, a name repeats): then they are found afresh.
   * The memo's index is updated in place; `forget` must follow if the config turns out invalid.
   */
  diffServices(services: readonly ServiceConfig[]): ServiceDiff | undefined {
    const names = this.#names;
    if (names === undefined) return undefined;
    const before = this.#services;
    const changed: number[] = [];
    let present = 0;
    for (let i = 0; i < services.length; i++) {
      if (before[i] === services[i]) present++;
      else changed.push(i);
    }
    const met = new Set<string>();
    for (const i of changed) {
      const name = services[i]!.name;
      if (met.has(name)) return undefined;
      met.add(name);
      const j = names.get(name);
      if (j === undefined) continue;
      // The name was at j: unless j changed too, an unchanged service there still has it.
      if (j !== i && before[j] !== undefined && services[j] === before[j]) return undefined;
      present++;
    }
    if (present < names.size) return undefined;
    for (const i of changed) names.set(services[i]!.name, i);
    return { names, changed };
  }

  /** remember records the lists of a config found valid, with its services' names. */
  remember(
    services: readonly ServiceConfig[],
    routes: readonly RouteConfig[],
    names: ReadonlyMap<string, number>,
    listeners: string,
  ): void {
    this.#services = services;
    this.#routes = routes;
    this.#listeners = listeners;
    this.#names = names instanceof Map ? names : new Map(names);
  }

  /** forget drops the last valid lists: the next config is checked whole (items still vouched for). */
  forget(): void {
    this.#services = [];
    this.#routes = [];
    this.#names = undefined;
  }
}
