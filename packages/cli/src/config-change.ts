import type { PorticoConfig } from '@portico/config';

/** ChangeList is what changed in one kind of config item, by name. */
export interface ChangeList {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

/** ConfigChange is what a new config changes from the one before, per kind; empty kinds are left out. */
export type ConfigChange = Partial<Record<'listeners' | 'routes' | 'services' | 'certificates', ChangeList>>;

/** MAX_NAMES bounds the names a log line lists per kind and change (the counts are always whole). */
const MAX_NAMES = 10;

/** compareLists compares two lists of items by name: the same object is unchanged without a look inside. */
function compareLists<T extends object>(
  before: readonly T[],
  after: readonly T[],
  nameOf: (item: T, index: number) => string,
): ChangeList {
  const old = new Map(before.map((item, i) => [nameOf(item, i), item]));
  const list: ChangeList = { added: [], removed: [], changed: [] };
  const seen = new Set<string>();
  after.forEach((item, i) => {
    const name = nameOf(item, i);
    seen.add(name);
    const previous = old.get(name);
    if (previous === undefined) list.added.push(name);
    else if (previous !== item && JSON.stringify(previous) !== JSON.stringify(item)) list.changed.push(name);
  });
  for (const name of old.keys()) if (!seen.has(name)) list.removed.push(name);
  return list;
}

/**
 * configChange says which listeners, routes, services and certificates a new config adds, removes or
 * changes, by name (routes without one by host, or by place). Without a config before, all are added.
 */
export function configChange(before: PorticoConfig | undefined, after: PorticoConfig): ConfigChange {
  const change: ConfigChange = {};
  const routeName = (r: PorticoConfig['routes'][number], i: number) => r.name ?? r.host ?? `routes[${i}]`;
  const lists = {
    listeners: compareLists(before?.listeners ?? [], after.listeners, (l) => l.name),
    routes: compareLists(before?.routes ?? [], after.routes, routeName),
    services: compareLists(before?.services ?? [], after.services, (s) => s.name),
    certificates: compareLists(before?.certificates ?? [], after.certificates, (c) => c.name),
  };
  for (const [kind, list] of Object.entries(lists) as [keyof ConfigChange, ChangeList][])
    if (list.added.length + list.removed.length + list.changed.length > 0) change[kind] = list;
  return change;
}

/** describeChange says a change in words: `services changed: web, api; routes added: shop`, or `no change`. */
export function describeChange(change: ConfigChange): string {
  const parts: string[] = [];
  for (const [kind, list] of Object.entries(change) as [string, ChangeList][])
    for (const what of ['added', 'removed', 'changed'] as const) {
      const names = list[what];
      if (names.length === 0) continue;
      const shown = names.slice(0, MAX_NAMES).join(', ');
      parts.push(
        `${kind} ${what}: ${shown}${names.length > MAX_NAMES ? ` and ${names.length - MAX_NAMES} more` : ''}`,
      );
    }
  return parts.length === 0 ? 'no change to listeners, routes, services or certificates' : parts.join('; ');
}

/** changeCounts is a change as counts per kind, for the log line's fields. */
export function changeCounts(
  change: ConfigChange,
): Record<string, { added: number; removed: number; changed: number }> {
  const counts: Record<string, { added: number; removed: number; changed: number }> = {};
  for (const [kind, list] of Object.entries(change) as [string, ChangeList][])
    counts[kind] = { added: list.added.length, removed: list.removed.length, changed: list.changed.length };
  return counts;
}
