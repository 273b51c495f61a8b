/**
 * A fake Kubernetes API server in its own process, filled with a synthetic cluster, for
 * `bench/kubernetes-sync.ts` (so the figures measured there are Portico's memory alone).
 *
 *   node --conditions=development bench/kubernetes/fake-api-process.ts --ingresses 5000 --services 5000 --slices 20000
 *
 * It prints `{"url": ...}` once ready, then reads commands on standard input: `scale <i>` adds an endpoint
 * to service i's first slice, `ingress <i>` creates a new Ingress; each answers `{"done": <i>, "at": <epoch ms>}`.
 * With `--local-port P`, a Service `local` has one pod at 127.0.0.1:P, the Ingress `steady.example.com`
 * routes to it, and `live <i>` creates an Ingress `live-<i>.example.com` to it (for requests through Portico).
 */
import { createInterface } from 'node:readline';
import { FakeKubeApi } from '../../packages/discovery/test/helpers/fake-kube-api.ts';
import {
  endpointSlice,
  ingress,
  ingressClass,
  service,
} from '../../packages/discovery/test/helpers/kube-fixtures.ts';
import { option } from '../options.ts';

const INGRESSES = option('ingresses', 100);
const SERVICES = option('services', INGRESSES);
const SLICES = option('slices', SERVICES * 4);
const PORT = option('backend-port', 8080);
const LOCAL_PORT = option('local-port', 0);

const api = new FakeKubeApi();
const namespaceOf = (i: number) => `team-${i % 50}`;
const address = (i: number, j: number) => `10.${(i >> 8) & 255}.${i & 255}.${j + 1}`;
/** slicesPerService: the slices are spread evenly, each with two pods. */
const slicesPerService = Math.max(1, Math.round(SLICES / SERVICES));
const pods = new Map<number, number>();

api.apply('ingressclasses', ingressClass('portico'));
for (let i = 0; i < SERVICES; i++) {
  api.apply(
    'services',
    service(`svc-${i}`, { namespace: namespaceOf(i), ports: [{ name: 'http', port: 80, targetPort: PORT }] }),
  );
  for (let s = 0; s < slicesPerService; s++)
    api.apply(
      'endpointslices',
      endpointSlice(
        `svc-${i}-${s}`,
        `svc-${i}`,
        [0, 1].map((j) => ({ address: address(i, s * 2 + j) })),
        [{ name: 'http', port: PORT }],
        namespaceOf(i),
      ),
    );
  pods.set(i, 2);
}
for (let i = 0; i < INGRESSES; i++) {
  const svc = i % SERVICES;
  api.apply(
    'ingresses',
    ingress(`ing-${i}`, {
      namespace: namespaceOf(svc),
      host: `app-${i}.example.com`,
      paths: [
        { path: '/', service: `svc-${svc}`, port: 80 },
        { path: '/api', pathType: 'Prefix', service: `svc-${svc}`, port: 'http' },
      ],
    }),
  );
}
if (LOCAL_PORT > 0) {
  api.apply('services', service('local', { namespace: namespaceOf(0), ports: [{ name: 'http', port: 80 }] }));
  api.apply(
    'endpointslices',
    endpointSlice(
      'local-0',
      'local',
      [{ address: '127.0.0.1' }],
      [{ name: 'http', port: LOCAL_PORT }],
      namespaceOf(0),
    ),
  );
  api.apply(
    'ingresses',
    ingress('steady', {
      namespace: namespaceOf(0),
      host: 'steady.example.com',
      paths: [{ service: 'local', port: 80 }],
    }),
  );
}
const url = await api.start();
process.stdout.write(`${JSON.stringify({ url, objects: api.resourceVersion })}\n`);

const now = () => performance.timeOrigin + performance.now();
for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.split(' ');
  const i = Number(arg);
  if (command === 'scale') {
    const n = (pods.get(i) ?? 2) + 1;
    pods.set(i, n);
    const at = now();
    api.apply(
      'endpointslices',
      endpointSlice(
        `svc-${i}-0`,
        `svc-${i}`,
        Array.from({ length: n }, (_, j) => ({ address: address(i, j < 2 ? j : 100 + j) })),
        [{ name: 'http', port: PORT }],
        namespaceOf(i),
      ),
    );
    process.stdout.write(`${JSON.stringify({ done: i, at })}\n`);
  } else if (command === 'ingress') {
    const at = now();
    api.apply(
      'ingresses',
      ingress(`new-${i}`, {
        namespace: namespaceOf(0),
        host: `new-${i}.example.com`,
        paths: [{ service: 'svc-0', port: 80 }],
      }),
    );
    process.stdout.write(`${JSON.stringify({ done: i, at })}\n`);
  } else if (command === 'live') {
    const at = now();
    api.apply(
      'ingresses',
      ingress(`live-${i}`, {
        namespace: namespaceOf(0),
        host: `live-${i}.example.com`,
        paths: [{ service: 'local', port: 80 }],
      }),
    );
    process.stdout.write(`${JSON.stringify({ done: i, at })}\n`);
  } else if (command === 'exit') {
    break;
  }
}
await api.close();
