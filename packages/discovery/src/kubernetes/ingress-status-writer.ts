import { isIP } from 'node:net';
import type { KubeClient } from './kube-client.ts';
import type { Ingress, LoadBalancerIngress, Service } from './kube-objects.ts';

/** PublishOptions say which addresses go to `status.loadBalancer.ingress`. */
export interface PublishOptions {
  /** addresses are published as they are (IPs as `ip`, names as `hostname`). */
  readonly addresses?: readonly string[];
  /** service (`namespace/name`) publishes that Service's load-balancer addresses (or external IPs). */
  readonly service?: string;
  /**
   * podSelector publishes the node IPs (`status.hostIP`) of the ready pods with these labels in
   * `podNamespace`: the edge nodes of a hostNetwork DaemonSet.
   */
  readonly podSelector?: string;
  readonly podNamespace?: string;
}

interface Pod {
  status?: { hostIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}

function toIngress(address: string): LoadBalancerIngress {
  return isIP(address) === 0 ? { hostname: address } : { ip: address };
}

function same(a: readonly LoadBalancerIngress[] | undefined, b: readonly LoadBalancerIngress[]): boolean {
  const key = (list: readonly LoadBalancerIngress[]) =>
    list
      .map((e) => `${e.ip ?? ''}|${e.hostname ?? ''}`)
      .sort()
      .join(',');
  return key(a ?? []) === key(b);
}

/**
 * IngressStatusWriter sets `status.loadBalancer.ingress` of Portico's Ingresses to the addresses Portico
 * serves on, with a JSON merge patch of the status subresource, and only where it differs. Only the
 * leader runs it, so instances never fight over the field.
 */
export class IngressStatusWriter {
  readonly #client: KubeClient;
  readonly #publish: PublishOptions;
  /** writes counts status patches sent; failures those that failed. */
  writes = 0;
  failures = 0;
  lastError: string | undefined;

  constructor(client: KubeClient, publish: PublishOptions) {
    this.#client = client;
    this.#publish = publish;
  }

  /** addresses resolves what to publish now (sorted, no duplicates). */
  async addresses(): Promise<LoadBalancerIngress[]> {
    const out: LoadBalancerIngress[] = (this.#publish.addresses ?? []).map(toIngress);
    if (this.#publish.service !== undefined) {
      const [namespace, name] = this.#publish.service.split('/', 2) as [string, string];
      const service = await this.#client.json<Service>({
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`,
      });
      out.push(...(service.status?.loadBalancer?.ingress ?? []).map((e) => ({ ...e })));
      out.push(...(service.spec?.externalIPs ?? []).map(toIngress));
    }
    if (this.#publish.podSelector !== undefined) {
      const namespace = this.#publish.podNamespace ?? 'default';
      const pods = await this.#client.json<{ items?: Pod[] }>({
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
        query: { labelSelector: this.#publish.podSelector },
      });
      for (const pod of pods.items ?? []) {
        const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (pod.status?.phase === 'Running' && ready && pod.status.hostIP !== undefined)
          out.push(toIngress(pod.status.hostIP));
      }
    }
    const seen = new Set<string>();
    return out
      .filter((e) => {
        const key = `${e.ip ?? ''}|${e.hostname ?? ''}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .sort((a, b) => ((a.ip ?? a.hostname ?? '') < (b.ip ?? b.hostname ?? '') ? -1 : 1));
  }

  /** #patched remembers, per Ingress, which version of it was patched with which addresses. */
  readonly #patched = new Map<string, string>();

  /**
   * write updates every Ingress whose status differs from `addresses`, once per version of the Ingress (a
   * second call before the watch has shown the first patch does not patch again).
   */
  async write(ingresses: readonly Ingress[], addresses: readonly LoadBalancerIngress[]): Promise<void> {
    const wanted = JSON.stringify(addresses);
    const seen = new Set<string>();
    for (const ingress of ingresses) {
      const { namespace = 'default', name } = ingress.metadata;
      const key = `${namespace}/${name}`;
      seen.add(key);
      if (same(ingress.status?.loadBalancer?.ingress, addresses)) continue;
      const version = `${ingress.metadata.resourceVersion ?? ''}|${wanted}`;
      if (this.#patched.get(key) === version) continue;
      try {
        await this.#client.json({
          method: 'PATCH',
          path: `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/ingresses/${encodeURIComponent(name)}/status`,
          contentType: 'application/merge-patch+json',
          body: { status: { loadBalancer: { ingress: addresses } } },
        });
        this.#patched.set(key, version);
        this.writes++;
      } catch (error) {
        this.failures++;
        this.lastError = (error as Error).message;
      }
    }
    for (const key of this.#patched.keys()) if (!seen.has(key)) this.#patched.delete(key);
  }
}
