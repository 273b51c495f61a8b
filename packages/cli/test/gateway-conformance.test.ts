import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { FakeKubeApi } from '../../discovery/test/helpers/fake-kube-api.ts';
import {
  CASES,
  type Expect,
  type GatewayStatusExpect,
  type Req,
  type RouteStatusExpect,
} from './helpers/gateway-cases.ts';
import {
  applyInfra,
  BACKENDS,
  CONTROLLER_NAME,
  GATEWAY_BASE_CONFIG,
  INFRA,
} from './helpers/gateway-infra.ts';
import { type KubeHarness, servedCertificateCn, startKubeHarness } from './helpers/kube-harness.ts';
import { type Pod, startPods } from './helpers/pods.ts';

/** listOf reads a header value as its comma-separated list (fields repeated or joined). */
function listOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value.join(',') : value).split(/\s*,\s*/);
}

/**
 * The Gateway API conformance cases (helpers/gateway-cases.ts) against Portico watching the fake API
 * server: each case's objects are applied, its requests sent over real sockets to echo pods until all
 * hold (the suite's "eventually consistent" requests), its route status checked, and its objects deleted.
 */
describe('Gateway API conformance cases (HTTPRoute, Gateway), through portico run --kubernetes', () => {
  let h: KubeHarness;
  let pods: Pod[];
  let pool: Pool;
  /** tlsPools holds one HTTPS pool per SNI name. */
  const tlsPools = new Map<string, Pool>();
  const tlsPool = (servername: string) => {
    let p = tlsPools.get(servername);
    if (p === undefined) {
      p = new Pool(`https://127.0.0.1:${h.httpsPort()}`, {
        connect: { servername, rejectUnauthorized: false },
      });
      tlsPools.set(servername, p);
    }
    return p;
  };

  before(async () => {
    pods = await startPods(BACKENDS.map((b) => b.name));
    h = await startKubeHarness(
      (api) => applyInfra(api, pods),
      {},
      new FakeKubeApi({ gatewayApi: true }),
      GATEWAY_BASE_CONFIG,
    );
    pool = new Pool(`http://127.0.0.1:${h.httpPort()}`, { connections: 4 });
  });

  after(async () => {
    await pool.close();
    for (const p of tlsPools.values()) await p.close();
    await h.close();
    await Promise.all(pods.map((p) => p.close()));
  });

  /** mismatch sends one request and says how its outcome differs from `expect` (undefined: it matches). */
  const mismatch = async (req: Req, expect: Expect): Promise<string | undefined> => {
    const res = await (req.tls === true ? tlsPool(req.host ?? 'localhost') : pool).request({
      path: req.path,
      method: (req.method ?? 'GET') as 'GET',
      headers: { host: req.host ?? '127.0.0.1', ...req.headers },
    });
    const text = await res.body.text();
    const what = `${req.method ?? 'GET'} ${req.host ?? ''}${req.path} ${JSON.stringify(req.headers ?? {})}`;
    const status = expect.status ?? 200;
    if (res.statusCode !== status)
      return `${what}: status ${res.statusCode}, wanted ${status} (${text.slice(0, 80)})`;
    if (expect.certificateCn !== undefined) {
      const cn = await servedCertificateCn(h.httpsPort(), req.host ?? 'localhost');
      if (cn !== expect.certificateCn) return `${what}: certificate ${cn}, wanted ${expect.certificateCn}`;
    }
    if (expect.redirect !== undefined) {
      const location = new URL(String(res.headers.location));
      const r = expect.redirect;
      if (r.scheme !== undefined && location.protocol !== `${r.scheme}:`)
        return `${what}: Location ${location}`;
      if (r.host !== undefined && location.hostname !== r.host) return `${what}: Location ${location}`;
      if (r.port !== undefined && location.port !== r.port) return `${what}: Location ${location}`;
      if (r.path !== undefined && location.pathname !== r.path) return `${what}: Location ${location}`;
    }
    if (expect.backend === undefined) return undefined;
    const body = JSON.parse(text) as {
      pod: string;
      host: string;
      url: string;
      headers: Record<string, string>;
    };
    if (body.pod !== expect.backend) return `${what}: served by ${body.pod}, wanted ${expect.backend}`;
    if (expect.path !== undefined && body.url !== expect.path) return `${what}: backend got ${body.url}`;
    if (expect.host !== undefined && body.host !== expect.host)
      return `${what}: backend got Host ${body.host}`;
    for (const [name, value] of Object.entries(expect.requestHeaders ?? {}))
      if (listOf(body.headers[name.toLowerCase()]).join(',') !== value)
        return `${what}: backend got ${name}: ${body.headers[name.toLowerCase()]}, wanted ${value}`;
    for (const name of expect.absentRequestHeaders ?? [])
      if (body.headers[name.toLowerCase()] !== undefined) return `${what}: backend got ${name}`;
    for (const [name, value] of Object.entries(expect.responseHeaders ?? {}))
      if (listOf(res.headers[name.toLowerCase()]).join(',') !== value)
        return `${what}: response ${name}: ${res.headers[name.toLowerCase()]}, wanted ${value}`;
    for (const name of expect.absentResponseHeaders ?? [])
      if (res.headers[name.toLowerCase()] !== undefined) return `${what}: response has ${name}`;
    return undefined;
  };

  /** statusMismatch says how a route's parent status differs from what is expected. */
  const statusMismatch = (s: RouteStatusExpect): string | undefined => {
    const route = h.api.get(s.kind ?? 'httproutes', s.namespace ?? INFRA, s.route) as
      | {
          status?: {
            parents?: {
              parentRef: { name: string };
              controllerName: string;
              conditions: { type: string; status: string; reason: string; observedGeneration?: number }[];
            }[];
          };
          metadata: { generation?: number };
        }
      | undefined;
    const parent = route?.status?.parents?.find(
      (p) => p.parentRef.name === s.gateway && p.controllerName === CONTROLLER_NAME,
    );
    if (parent === undefined) return `${s.route}: no parent status for ${s.gateway}`;
    for (const [type, wanted] of [
      ['Accepted', s.accepted],
      ['ResolvedRefs', s.resolvedRefs],
    ] as const) {
      if (wanted === undefined) continue;
      const c = parent.conditions.find((x) => x.type === type);
      if (c?.status !== wanted[0] || c.reason !== wanted[1])
        return `${s.route}: ${type} ${c?.status}/${c?.reason}, wanted ${wanted.join('/')}`;
      if (c.observedGeneration !== route?.metadata.generation)
        return `${s.route}: ${type} observedGeneration stale`;
    }
    return undefined;
  };

  /** gatewayMismatch says how a Gateway's status differs from what is expected. */
  const gatewayMismatch = (s: GatewayStatusExpect): string | undefined => {
    type C = { type: string; status: string; reason: string; observedGeneration?: number };
    const gw = h.api.get('gateways', INFRA, s.gateway) as
      | {
          metadata: { generation?: number };
          status?: {
            conditions?: C[];
            listeners?: {
              name: string;
              attachedRoutes: number;
              supportedKinds: { kind: string }[];
              conditions: C[];
            }[];
          };
        }
      | undefined;
    if (gw?.status?.conditions === undefined) return `${s.gateway}: no status`;
    const check = (
      where: string,
      conditions: C[],
      type: string,
      wanted: readonly [string, string] | undefined,
    ) => {
      if (wanted === undefined) return undefined;
      const c = conditions.find((x) => x.type === type);
      if (c?.status !== wanted[0] || c.reason !== wanted[1])
        return `${where}: ${type} ${c?.status}/${c?.reason}, wanted ${wanted.join('/')}`;
      if (c.observedGeneration !== gw.metadata.generation)
        return `${where}: ${type} observedGeneration stale`;
      return undefined;
    };
    const problems = [
      check(s.gateway, gw.status.conditions, 'Accepted', s.accepted),
      check(s.gateway, gw.status.conditions, 'Programmed', s.programmed),
    ];
    for (const [name, l] of Object.entries(s.listeners ?? {})) {
      const status = gw.status.listeners?.find((x) => x.name === name);
      if (status === undefined) return `${s.gateway}/${name}: no listener status`;
      const where = `${s.gateway}/${name}`;
      problems.push(
        check(where, status.conditions, 'Accepted', l.accepted),
        check(where, status.conditions, 'ResolvedRefs', l.resolvedRefs),
        check(where, status.conditions, 'Programmed', l.programmed),
      );
      if (l.attachedRoutes !== undefined && status.attachedRoutes !== l.attachedRoutes)
        problems.push(`${where}: attachedRoutes ${status.attachedRoutes}, wanted ${l.attachedRoutes}`);
      const kinds = status.supportedKinds.map((k) => k.kind).join(',');
      if (l.supportedKinds !== undefined && kinds !== l.supportedKinds.join(','))
        problems.push(`${where}: supportedKinds ${kinds}, wanted ${l.supportedKinds.join(',')}`);
    }
    return problems.find((p) => p !== undefined);
  };

  for (const c of CASES) {
    it(c.upstream, async () => {
      for (const o of c.objects) h.api.apply(o.plural, o.object);
      try {
        let problems: string[] = [];
        const deadline = Date.now() + 5_000;
        do {
          problems = [];
          for (const [req, expect] of c.requests) {
            const problem = await mismatch(req, expect);
            if (problem !== undefined) problems.push(problem);
          }
          for (const s of c.routeStatus ?? []) {
            const problem = statusMismatch(s);
            if (problem !== undefined) problems.push(problem);
          }
          for (const s of c.gatewayStatus ?? []) {
            const problem = gatewayMismatch(s);
            if (problem !== undefined) problems.push(problem);
          }
          if (problems.length === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        } while (Date.now() < deadline);
        assert.deepEqual(problems, [], `${c.upstream}:\n${problems.join('\n')}`);
      } finally {
        for (const o of c.objects)
          h.api.delete(o.plural, o.object.metadata.namespace ?? INFRA, o.object.metadata.name);
      }
    });
  }
});
