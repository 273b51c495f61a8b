/**
 * Balancer benchmark: nanoseconds per selection for each policy with 10 and 1,000 endpoints, keys drawn
 * from 10,000 distinct client addresses (hash policies hash each one).
 *
 *   node --conditions=development bench/balancer-select.ts [--picks 1000000] [--fresh-keys]
 *
 * `--fresh-keys` makes every key new, the worst case for ring-hash, whose MD5 key hashes are memoised.
 */
import { parseConfig } from '@portico/config';
import {
  EndpointRegistry,
  type EndpointState,
  type RequestKeys,
  ServiceBalancer,
  ServiceRegistry,
} from '@portico/proxy';

const picksArg = process.argv.indexOf('--picks');
const PICKS = picksArg > 0 ? Number(process.argv[picksArg + 1]) : 1_000_000;
const POLICIES = ['round-robin', 'random', 'least-request', 'ewma', 'ring-hash', 'maglev'] as const;

function service(policy: string, endpoints: number, weighted: boolean): ServiceBalancer {
  const config = parseConfig({
    listeners: [{ name: 'x', port: 0 }],
    services: [
      {
        name: 's',
        balancer: policy,
        endpoints: Array.from({ length: endpoints }, (_, i) => ({
          address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          port: 8080,
          weight: weighted ? 1 + (i % 4) : 1,
        })),
      },
    ],
  });
  return new ServiceBalancer(config.services[0]!, new EndpointRegistry(), new ServiceRegistry().get('s'));
}

const fresh = process.argv.includes('--fresh-keys');
const addresses = Array.from(
  { length: fresh ? PICKS + 100_000 : 10_000 },
  (_, i) => `192.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
);
let current = '';
const keys: RequestKeys = {
  clientAddress: () => current,
  header: () => undefined,
  cookie: () => undefined,
  path: () => '/',
  query: () => undefined,
};
const none: readonly EndpointState[] = [];

console.log(
  `balancer selection cost, Node ${process.version}, ${PICKS.toLocaleString('en-US')} picks per cell, ` +
    `${fresh ? 'every key new' : 'keys from 10,000 client addresses'}\n`,
);
console.log('| policy | 10 endpoints ns | 1,000 endpoints ns | 1,000 weighted ns |');
console.log('|---|---:|---:|---:|');
for (const policy of POLICIES) {
  const row: string[] = [];
  for (const [n, weighted] of [
    [10, false],
    [1_000, false],
    [1_000, true],
  ] as const) {
    const balancer = service(policy, n, weighted);
    for (let i = 0; i < 100_000; i++) {
      current = addresses[i % addresses.length]!;
      balancer.choose(keys, none);
    }
    const started = process.hrtime.bigint();
    let sink = 0;
    for (let i = 0; i < PICKS; i++) {
      current = addresses[i % addresses.length]!;
      sink += balancer.choose(keys, none).endpoint!.port;
    }
    const ns = Number(process.hrtime.bigint() - started) / PICKS;
    if (sink === 0) throw new Error('nothing picked');
    row.push(ns.toFixed(0));
  }
  console.log(`| ${policy} | ${row.join(' | ')} |`);
}
