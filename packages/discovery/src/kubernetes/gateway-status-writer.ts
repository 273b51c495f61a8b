import { type Condition, GATEWAY_GROUP, type RouteParentStatus } from './gateway-objects.ts';
import type { GatewayStatusPlan } from './gateway-translate.ts';
import type { KubeClient } from './kube-client.ts';
import type { KubeObject, LoadBalancerIngress } from './kube-objects.ts';

/**
 * withTimes gives each wanted condition its lastTransitionTime: the one it has now when its status did
 * not change, else `now`.
 */
function withTimes(
  wanted: readonly Condition[],
  current: readonly Condition[] | undefined,
  now: string,
): Condition[] {
  return wanted.map((c) => {
    const before = current?.find((b) => b.type === c.type);
    return {
      ...c,
      lastTransitionTime: before?.status === c.status ? (before.lastTransitionTime ?? now) : now,
    };
  });
}

/** comparable is a status without transition times, to tell whether a patch is needed. */
function comparable(value: unknown): string {
  return JSON.stringify(value, (key, v) => (key === 'lastTransitionTime' ? undefined : v));
}

/**
 * GatewayStatusWriter writes the status Portico owes the Gateway API objects it serves: GatewayClass
 * Accepted, Gateway conditions, listeners and addresses, and each route's `status.parents` entries for
 * Portico's controller (other controllers' entries are kept). It patches the status subresource only
 * where the wanted status differs, once per version of an object. Only the leader runs it.
 */
export class GatewayStatusWriter {
  readonly #client: KubeClient;
  readonly #controllerName: string;
  /** #patched remembers, per object, which version was patched with which status. */
  readonly #patched = new Map<string, string>();
  writes = 0;
  failures = 0;
  lastError: string | undefined;

  constructor(client: KubeClient, controllerName: string) {
    this.#client = client;
    this.#controllerName = controllerName;
  }

  /**
   * write brings the status of the plan's objects to what it says; `addresses` (IPs or names, as
   * published to Ingress status) go to every Gateway's `status.addresses`.
   */
  async write(plan: GatewayStatusPlan, addresses: readonly LoadBalancerIngress[]): Promise<void> {
    const published = addresses.map((a) =>
      a.ip === undefined ? { type: 'Hostname', value: a.hostname ?? '' } : { type: 'IPAddress', value: a.ip },
    );
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const seen = new Set<string>();
    for (const { object, conditions } of plan.classes) {
      const current = object.status;
      await this.#patch('gatewayclasses', object, seen, current, {
        conditions: withTimes(conditions, current?.conditions, now),
      });
    }
    for (const g of plan.gateways) {
      const current = g.object.status;
      await this.#patch('gateways', g.object, seen, current, {
        conditions: withTimes(g.conditions, current?.conditions, now),
        listeners: g.listeners.map((l) => ({
          ...l,
          conditions: withTimes(
            l.conditions,
            current?.listeners?.find((c) => c.name === l.name)?.conditions,
            now,
          ),
        })),
        addresses: published,
      });
    }
    for (const r of plan.routes) {
      const current = r.object.status?.parents ?? [];
      const others = current.filter((p) => p.controllerName !== this.#controllerName);
      const ours: RouteParentStatus[] = r.parents.map((p) => ({
        ...p,
        conditions: withTimes(
          p.conditions,
          current.find(
            (c) =>
              c.controllerName === this.#controllerName &&
              comparable(c.parentRef) === comparable(p.parentRef),
          )?.conditions,
          now,
        ),
      }));
      await this.#patch(r.plural, r.object, seen, { parents: current }, { parents: [...others, ...ours] });
    }
    for (const key of this.#patched.keys()) if (!seen.has(key)) this.#patched.delete(key);
  }

  async #patch(
    plural: string,
    object: KubeObject,
    seen: Set<string>,
    current: unknown,
    wanted: Record<string, unknown>,
  ): Promise<void> {
    const { namespace, name } = object.metadata;
    const key = `${plural}/${namespace ?? ''}/${name}`;
    seen.add(key);
    const currentPart = Object.fromEntries(
      Object.keys(wanted).map((k) => [k, (current as Record<string, unknown> | undefined)?.[k]]),
    );
    if (comparable(currentPart) === comparable(wanted)) return;
    const version = `${object.metadata.resourceVersion ?? ''}|${comparable(wanted)}`;
    if (this.#patched.get(key) === version) return;
    const where = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
    try {
      await this.#client.json({
        method: 'PATCH',
        path: `/apis/${GATEWAY_GROUP}/v1${where}/${plural}/${encodeURIComponent(name)}/status`,
        contentType: 'application/merge-patch+json',
        body: { status: wanted },
      });
      this.#patched.set(key, version);
      this.writes++;
    } catch (error) {
      this.failures++;
      this.lastError = (error as Error).message;
    }
  }
}
