import type { PorticoConfig } from '@portico/config';

type Field = keyof PorticoConfig;

/** ListDelta is how a list of the config changed: its new length and the items at the places that differ. */
export interface ListDelta<T> {
  readonly length: number;
  readonly changed: readonly (readonly [number, T])[];
}

/**
 * ConfigDelta is a config as the change from the one a worker has (`from`, a version): the services and
 * routes that are not the same objects, place by place, and the other top-level fields that are not.
 */
export interface ConfigDelta {
  readonly from: number;
  readonly services: ListDelta<PorticoConfig['services'][number]>;
  readonly routes: ListDelta<PorticoConfig['routes'][number]>;
  /** fields are the other top-level fields that changed; removed, those `next` no longer has. */
  readonly fields: Partial<PorticoConfig>;
  readonly removed: readonly string[];
}

/**
 * diffConfig describes `next` as a change from `previous` (version `from`). Sources that keep unchanged
 * parts as the same objects (the Kubernetes one) make a change to one of thousands of services a delta
 * of one service: what crosses to the workers is what changed, not the whole config.
 */
export function diffConfig(previous: PorticoConfig, next: PorticoConfig, from: number): ConfigDelta {
  const fields: Partial<Record<Field, unknown>> = {};
  for (const field of Object.keys(next) as Field[])
    if (field !== 'services' && field !== 'routes' && next[field] !== previous[field])
      fields[field] = next[field];
  return {
    from,
    services: diffList(previous.services, next.services),
    routes: diffList(previous.routes, next.routes),
    fields: fields as Partial<PorticoConfig>,
    removed: Object.keys(previous).filter((field) => !(field in next)),
  };
}

function diffList<T>(previous: readonly T[], next: readonly T[]): ListDelta<T> {
  const changed: [number, T][] = [];
  for (let i = 0; i < next.length; i++) if (next[i] !== previous[i]) changed.push([i, next[i]!]);
  return { length: next.length, changed };
}

/**
 * patchConfig applies a delta to `base` (the config the delta was made from) and returns the new config;
 * unchanged services and routes stay the very objects of `base`, so the proxy recompiles only the rest.
 */
export function patchConfig(base: PorticoConfig, delta: ConfigDelta): PorticoConfig {
  const next = { ...base, ...delta.fields } as Record<string, unknown>;
  for (const field of delta.removed) delete next[field];
  return {
    ...(next as PorticoConfig),
    services: patchList(base.services, delta.services),
    routes: patchList(base.routes, delta.routes),
  };
}

function patchList<T>(base: readonly T[], delta: ListDelta<T>): T[] {
  const list = base.slice(0, delta.length);
  for (const [i, item] of delta.changed) list[i] = item;
  return list;
}
