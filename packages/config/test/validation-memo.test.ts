import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationMemo, validateConfig } from '@portico/config';

type Service = { name: string; endpoints: { address: string; port: number }[] };
type Route = { host: string; paths: { path: string; service: string }[] };

/** random is a small seeded generator, so a failing sequence can be replayed. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % n;
  };
}

const service = (name: string, address = '10.0.0.1'): Service => ({
  name,
  endpoints: [{ address, port: 80 }],
});
const route = (host: string, to: string): Route => ({ host, paths: [{ path: '/', service: to }] });

function outcome(result: ReturnType<typeof validateConfig>): string[] {
  return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`).sort();
}

describe('ValidationMemo: configs that share most objects with the last valid one', () => {
  it('find exactly the issues a validation from scratch finds, over 600 random edits', () => {
    const pick = random(42);
    let services: Service[] = Array.from({ length: 40 }, (_, i) => service(`s${i}`));
    let routes: Route[] = Array.from({ length: 40 }, (_, i) => route(`h${i}.example`, `s${i}`));
    const memo = new ValidationMemo();
    let valid = 0;
    for (let step = 0; step < 600; step++) {
      services = services.slice();
      routes = routes.slice();
      while (services.length < 20) services.push(service(`m${step}-${services.length}`));
      const i = pick(services.length);
      switch (pick(9)) {
        case 0: // endpoints change
          services[i] = service(services[i]!.name, `10.0.${step % 250}.1`);
          break;
        case 1: // a new service
          services.push(service(`n${step}`));
          break;
        case 2: // a service leaves (routes may still name it)
          if (services.length > 10) services.splice(i, 1);
          break;
        case 3: // a duplicate name
          services[i] = service(services[pick(services.length)]!.name);
          break;
        case 4: // a bad address
          services[i] = service(services[i]!.name, 'not an address!');
          break;
        case 5: // a route to an existing service
          routes.push(route(`r${step}.example`, services[pick(services.length)]!.name));
          break;
        case 6: // a route to nothing
          routes[pick(routes.length)] = route(`x${step}.example`, `missing${step}`);
          break;
        case 7: // two services swap places
          {
            const j = pick(services.length);
            [services[i], services[j]] = [services[j]!, services[i]!];
          }
          break;
        default: // a route removed
          if (routes.length > 10) routes.splice(pick(routes.length), 1);
      }
      const document = { listeners: [{ name: 'web', port: 0 }], services, routes };
      const fresh = validateConfig(structuredClone(document));
      const remembered = validateConfig(document, { inPlace: true, memo });
      assert.deepEqual(outcome(remembered), outcome(fresh), `step ${step}`);
      if (fresh.ok) valid++;
      else {
        // Undo the edit that broke it, as a source would by leaving out what is invalid.
        services = services.filter(
          (s, k) =>
            services.findIndex((o) => o.name === s.name) === k &&
            s.endpoints[0]!.address !== 'not an address!',
        );
        const names = new Set(services.map((s) => s.name));
        routes = routes.filter((r) => names.has(r.paths[0]!.service));
      }
    }
    assert.ok(valid > 200, `a good share of the configs are valid (${valid})`);
  });

  it('checks an unchanged route again when what it depends on goes: a global rate limit without its store', () => {
    const memo = new ValidationMemo();
    const limited = {
      host: 'api.example',
      rateLimit: { requestsPerMinute: 60, global: true },
      paths: [{ path: '/', service: 's0' }],
    };
    const base = { listeners: [{ name: 'web', port: 0 }], services: [service('s0')], routes: [limited] };
    const first = validateConfig(
      { ...base, rateLimitStore: { redis: { url: 'redis://127.0.0.1:6379' } } },
      { inPlace: true, memo },
    );
    assert.deepEqual(outcome(first), []);
    const second = validateConfig(
      { ...base, routes: [first.ok ? first.config.routes[0]! : limited] },
      { inPlace: true, memo },
    );
    assert.deepEqual(outcome(second), [
      'routes[0].rateLimit.global: a global limit needs `rateLimitStore`: the Redis server instances share',
    ]);
  });
});
