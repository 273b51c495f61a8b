import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ClusterState,
  type EndpointSlice,
  type Ingress,
  type IngressClass,
  keyOf,
  type Secret,
  type Service,
  type TranslateOptions,
  TranslationCache,
  translateCluster,
} from '@portico/discovery';
import { endpointSlice, ingress, ingressClass, service, tlsSecret } from './helpers/kube-fixtures.ts';

const OPTIONS: TranslateOptions = {
  controller: 'portico.dev/ingress-controller',
  ingressClass: 'portico',
  allowExternalName: false,
  httpsAvailable: true,
  sslRedirect: true,
};

/** random is a small seeded generator, so a failing sequence can be replayed. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % n;
  };
}

type Stored = { metadata: { name: string; namespace?: string; creationTimestamp?: string } };

/**
 * A cluster that changes as the watch would tell it: each change replaces or removes one object and
 * touches the cache the way KubernetesDiscovery does.
 */
class ChangingCluster {
  readonly ingresses = new Map<string, Ingress>();
  readonly services = new Map<string, Service>();
  readonly slices = new Map<string, EndpointSlice>();
  readonly secrets = new Map<string, Secret>();
  readonly classes = new Map<string, IngressClass>([['portico', ingressClass('portico') as IngressClass]]);
  readonly cache = new TranslationCache();
  #clock = 0;

  state(): ClusterState {
    return {
      ingresses: this.ingresses,
      ingressClasses: this.classes,
      services: this.services,
      endpointSlices: this.slices,
      secrets: this.secrets,
    };
  }

  #stamp<T>(object: Stored, created?: string): T {
    const at = created ?? new Date(Date.UTC(2026, 0, 1, 0, 0, this.#clock++)).toISOString();
    return { ...object, metadata: { ...object.metadata, creationTimestamp: at } } as T;
  }

  putIngress(object: Stored, created?: string): void {
    const stamped = this.#stamp<Ingress>(
      object,
      created ?? this.ingresses.get(keyOf(object as Ingress))?.metadata.creationTimestamp,
    );
    this.ingresses.set(keyOf(stamped), stamped);
    this.cache.touch(`ingress:${keyOf(stamped)}`);
  }

  removeIngress(key: string): void {
    this.ingresses.delete(key);
    this.cache.touch(`ingress:${key}`);
  }

  putService(object: Stored): void {
    const stamped = this.#stamp<Service>(object);
    this.services.set(keyOf(stamped), stamped);
    this.cache.touch(`service:${keyOf(stamped)}`);
  }

  putSlice(object: Stored & { metadata: { labels: Record<string, string> } }): void {
    const stamped = this.#stamp<EndpointSlice>(object);
    this.slices.set(keyOf(stamped), stamped);
    this.cache.touch(`service:default/${object.metadata.labels['kubernetes.io/service-name']}`);
  }

  putSecret(object: Stored): void {
    const stamped = this.#stamp<Secret>(object);
    this.secrets.set(keyOf(stamped), stamped);
    this.cache.touch(`secret:${keyOf(stamped)}`);
  }
}

const SERVICES = ['web', 'api', 'shop', 'blog'];

function slice(serviceName: string, pods: number, seed: number) {
  const endpoints = Array.from({ length: pods }, (_, i) => ({
    address: `10.${SERVICES.indexOf(serviceName)}.${seed % 250}.${i + 1}`,
    ready: (seed + i) % 3 !== 0,
  }));
  return endpointSlice(`${serviceName}-1`, serviceName, endpoints, [{ name: 'http', port: 8080 }]);
}

function someIngress(name: string, pick: (n: number) => number) {
  const host = `${name}.example`;
  const paths = Array.from({ length: 1 + pick(2) }, (_, i) => ({
    path: `/p${i}${pick(3)}`,
    service: SERVICES[pick(SERVICES.length)]!,
    port: pick(5) === 0 ? 81 : 80,
  }));
  return ingress(name, {
    host,
    paths,
    ...(pick(6) === 0 ? { tls: [{ hosts: [host], secretName: 'wild' }] } : {}),
    ...(pick(8) === 0 ? { defaultBackend: { service: 'web', port: 80 } } : {}),
    ...(pick(8) === 0 ? { annotations: { 'portico.dev/load-balance': 'random' } } : {}),
  });
}

describe('translation patched in place (TranslationCache assembly)', () => {
  it('equals a translation from scratch after each of 400 random watch events', () => {
    const pick = random(20_261_202);
    const cluster = new ChangingCluster();
    for (const name of SERVICES) {
      cluster.putService(service(name));
      cluster.putSlice(slice(name, 2, 0));
    }
    cluster.putSecret(tlsSecret('wild', 'CERT', 'KEY'));
    let next = 0;
    for (let i = 0; i < 30; i++) cluster.putIngress(someIngress(`ing-${next++}`, pick));
    let patched = 0;
    for (let step = 0; step < 400; step++) {
      const names = [...cluster.ingresses.keys()];
      const existing = names[pick(names.length)]!;
      switch (pick(7)) {
        case 0:
        case 1: // pods come and go
          cluster.putSlice(slice(SERVICES[pick(SERVICES.length)]!, 1 + pick(4), step));
          break;
        case 2: // a new Ingress, the newest
          cluster.putIngress(someIngress(`ing-${next++}`, pick));
          break;
        case 3: // an Ingress edited
          cluster.putIngress(someIngress(existing.split('/')[1]!, pick));
          break;
        case 4: // an Ingress deleted
          cluster.removeIngress(existing);
          break;
        case 5: // a Service's ports change
          cluster.putService(
            service(SERVICES[pick(SERVICES.length)]!, {
              ports: pick(2) === 0 ? [{ name: 'http', port: 80 }] : [{ name: 'http', port: 81 }],
            }),
          );
          break;
        default: // an Ingress that sorts before the others (an older creation time) comes back
          cluster.putIngress(someIngress(`old-${step}`, pick), '2025-01-01T00:00:00Z');
      }
      const before = cluster.cache.assembly;
      const cached = translateCluster(cluster.state(), { ...OPTIONS, cache: cluster.cache });
      // A patched assembly takes over the last one's indexes; one made from scratch has its own.
      if (before !== undefined && cluster.cache.assembly?.serviceIndex === before.serviceIndex) patched++;
      const fresh = translateCluster(cluster.state(), OPTIONS);
      assert.deepEqual(
        {
          ...cached,
          ingresses: cached.ingresses.map((i) => keyOf(i)),
        },
        { ...fresh, ingresses: fresh.ingresses.map((i) => keyOf(i)) },
        `step ${step}`,
      );
    }
    assert.ok(patched > 150, `most steps patch the last assembly (${patched})`);
    assert.ok(patched < 400, `some steps assemble from scratch (${patched})`);
  });
});
