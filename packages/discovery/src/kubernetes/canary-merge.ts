import type { PorticoConfigInput } from '@portico/config';
import type { Translation } from './translate.ts';
import type { Assembly } from './translation-assembly.ts';
import type { CanaryPart } from './translation-cache.ts';

type RouteInput = NonNullable<PorticoConfigInput['routes']>[number];
type PathInput = NonNullable<RouteInput['paths']>[number];

/**
 * mergeCanaries joins the paths of ingress-nginx canary Ingresses to their main Ingresses' (the oldest
 * other Ingress with the same host and path), as ingress-nginx does: requests whose canary header is
 * `always` (or the header value or pattern), or whose canary cookie is `always`, go to the canary;
 * `never` keeps them on the main backend; the rest are split by canary-weight. Only the routes a canary
 * touches are copied; without canaries the translation is returned as it is. A canary without a main
 * Ingress serves nothing, and says so.
 */
export function mergeCanaries(assembly: Assembly): Translation {
  const canaries: { origin: string; part: CanaryPart }[] = [];
  for (const entry of assembly.entries)
    for (const part of entry.part?.canaries ?? []) canaries.push({ origin: entry.key, part });
  const out = assembly.out;
  if (canaries.length === 0) return out;
  const routes = [...out.routes];
  const issues = [...out.issues];
  const taken = new Set<string>();
  for (const { origin, part } of canaries) {
    const id = `${part.host}\n${part.path}\n${part.type}`;
    const at = routes.findIndex(
      (r, i) => r.host === part.host && out.routeOrigins[i] !== origin && mainPath(r, part) !== undefined,
    );
    const ingress = assembly.entries[assembly.positions.get(origin)!]!.ingress;
    if (at < 0 || taken.has(id)) {
      issues.push({
        code: 'PORTICO_KUBE_NGINX_UNSUPPORTED',
        object: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          namespace: ingress.metadata.namespace,
          name: ingress.metadata.name,
          uid: ingress.metadata.uid,
          resourceVersion: ingress.metadata.resourceVersion,
        },
        field: 'metadata.annotations["nginx.ingress.kubernetes.io/canary"]',
        message: taken.has(id)
          ? `${part.host}${part.path} has a canary already; this one is not served`
          : `no other Ingress serves ${part.host}${part.path}: a canary needs a main Ingress; not served`,
      });
      continue;
    }
    taken.add(id);
    const route = routes[at]!;
    const main = mainPath(route, part)!;
    routes[at] = { ...route, paths: withCanary(route.paths ?? [], main, part) };
  }
  return { ...out, routes, issues };
}

/** mainPath finds the path of `route` a canary shares: same path and type, no conditions. */
function mainPath(route: RouteInput, part: CanaryPart): PathInput | undefined {
  return route.paths?.find(
    (p) =>
      p.path === part.path &&
      (p.type ?? 'ImplementationSpecific') === part.type &&
      p.service !== undefined &&
      p.headers === undefined &&
      p.method === undefined &&
      p.queryParams === undefined,
  );
}

/** withCanary returns `paths` with `main` split by weight and the canary's header and cookie paths added. */
function withCanary(paths: readonly PathInput[], main: PathInput, part: CanaryPart): PathInput[] {
  const s = part.settings;
  const stable = main.service!;
  const { service: _service, ...shape } = main;
  const to = (service: string, headers: NonNullable<PathInput['headers']>): PathInput => ({
    ...shape,
    service,
    headers,
  });
  const added: PathInput[] = [];
  if (s.header !== undefined) {
    if (s.headerPattern !== undefined)
      added.push(to(part.service, [{ name: s.header, value: s.headerPattern, type: 'RegularExpression' }]));
    else if (s.headerValue !== undefined)
      added.push(to(part.service, [{ name: s.header, value: s.headerValue }]));
    else {
      added.push(to(part.service, [{ name: s.header, value: 'always' }]));
      added.push(to(stable, [{ name: s.header, value: 'never' }]));
    }
  }
  if (s.cookie !== undefined) {
    const cookie = (value: string) => `(.*;\\s*)?${escapeRegex(s.cookie!)}=${value}(\\s*;.*)?`;
    added.push(to(part.service, [{ name: 'cookie', value: cookie('always'), type: 'RegularExpression' }]));
    added.push(to(stable, [{ name: 'cookie', value: cookie('never'), type: 'RegularExpression' }]));
  }
  const split: PathInput =
    s.weight === 0
      ? main
      : {
          ...shape,
          backends: [
            { service: stable, weight: s.total - s.weight },
            { service: part.service, weight: s.weight },
          ],
        };
  return [...paths.map((p) => (p === main ? split : p)), ...added];
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
