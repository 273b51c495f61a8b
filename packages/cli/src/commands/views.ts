import { request } from 'undici';

async function fetchJson(base: string, path: string): Promise<unknown> {
  const res = await request(`${base.replace(/\/$/, '')}${path}`, {
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${path}: HTTP ${res.statusCode}: ${text}`);
  return JSON.parse(text);
}

/** table renders rows as aligned columns under a header. */
export function table(header: string[], rows: (string | number)[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: (string | number)[]) =>
    cells
      .map((c, i) => String(c).padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** statusView prints what a running Portico is doing (`json`: the admin API's answers, as JSON). */
export async function statusView(admin: string, out: (line: string) => void, json = false): Promise<void> {
  const status = (await fetchJson(admin, '/status')) as Record<string, unknown>;
  const ready = (await fetchJson(admin, '/readyz').catch(() => ({ ready: false }))) as { ready: boolean };
  if (json) {
    const listeners = await fetchJson(admin, '/listeners');
    out(JSON.stringify({ ...status, ready: ready.ready, listeners }, null, 2));
    return;
  }
  out(
    `config v${status['version']} from ${status['source']}, applied ${status['appliedAt']}\n` +
      `ready: ${ready.ready}  draining: ${status['draining']}  connections: ${status['connections']}  uptime: ${status['uptimeSeconds']} s`,
  );
  const listeners = (await fetchJson(admin, '/listeners')) as Record<string, string | number>[];
  out(
    table(
      ['LISTENER', 'PROTOCOL', 'ADDRESS', 'OPEN', 'TOTAL'],
      listeners.map((l) => [
        l['name']!,
        l['protocol']!,
        `${l['address']}:${l['port']}`,
        l['active']!,
        l['connections']!,
      ]),
    ),
  );
}

/** routesView prints the route table (`json`: as the admin API gives it). */
export async function routesView(admin: string, out: (line: string) => void, json = false): Promise<void> {
  const routes = (await fetchJson(admin, '/routes')) as {
    host: string | null;
    path: string;
    type: string;
    match: string | null;
    service: string;
    filters: string[];
    route: string;
  }[];
  if (json) {
    out(JSON.stringify(routes, null, 2));
    return;
  }
  out(
    table(
      ['HOST', 'PATH', 'TYPE', 'MATCH', 'SERVICE', 'FILTERS', 'ROUTE'],
      routes.map((r) => [
        r.host ?? '*',
        r.path,
        r.type,
        r.match ?? '-',
        r.service,
        r.filters.length === 0 ? '-' : r.filters.join(','),
        r.route,
      ]),
    ),
  );
}

/** endpointsView prints one service's endpoints and their state. */
export async function endpointsView(
  admin: string,
  service: string,
  out: (line: string) => void,
  json = false,
): Promise<number> {
  const services = (await fetchJson(admin, '/services')) as {
    name: string;
    balancer: string;
    panic: boolean;
    endpoints: Record<string, string | number | boolean>[];
  }[];
  const found = services.find((s) => s.name === service);
  if (found === undefined) {
    out(`no service named "${service}" (known: ${services.map((s) => s.name).join(', ') || 'none'})`);
    return 1;
  }
  if (json) {
    out(JSON.stringify(found, null, 2));
    return 0;
  }
  out(
    `${found.name}: ${found.balancer}${found.panic ? ' (PANIC: too few available, balancing over all)' : ''}`,
  );
  const state = (e: Record<string, string | number | boolean>) =>
    e['disabled']
      ? 'disabled'
      : e['ejected']
        ? 'ejected'
        : !e['healthy']
          ? 'unhealthy'
          : !e['ready']
            ? 'not-ready'
            : 'available';
  out(
    table(
      ['ENDPOINT', 'STATE', 'WEIGHT', 'IN FLIGHT', 'REQUESTS', 'FAILURES', 'EWMA MS'],
      found.endpoints.map((e) => [
        e['endpoint'] as string,
        state(e),
        e['weight'] as number,
        e['active'] as number,
        e['requests'] as number,
        e['failures'] as number,
        e['ewmaMs'] as number,
      ]),
    ),
  );
  return 0;
}
