import type { Ingress } from './kube-objects.ts';
import type { Translation } from './translate.ts';
import type { IngressPart } from './translation-cache.ts';

/** AssemblyEntry is one Ingress of Portico's class, in order, with its part (undefined: left out). */
export interface AssemblyEntry {
  readonly key: string;
  readonly ingress: Ingress;
  readonly part: IngressPart | undefined;
}

/**
 * Assembly is a translation with what it was put together from: the Ingresses in order with their
 * parts, and where each one's routes and services sit, so that the next translation can replace the
 * parts of the few Ingresses that changed (`patchAssembly`) instead of putting thousands together again.
 */
export interface Assembly {
  /** context is what the parts were made under (options, the cache's epoch). */
  readonly context: string;
  /** excluded are the Ingresses left out because their part was invalid. */
  readonly excluded: number;
  readonly entries: readonly AssemblyEntry[];
  /** positions maps an Ingress (`namespace/name`) to its index in `entries`. */
  readonly positions: ReadonlyMap<string, number>;
  /** routeOffsets[i] is the index in `out.routes` of the first route of `entries[i]`. */
  readonly routeOffsets: readonly number[];
  /** serviceIndex maps a service name to its index in `out.services`; owned by this assembly. */
  readonly serviceIndex: Map<string, number>;
  readonly certificateIndex: Map<string, number>;
  readonly out: Translation;
}

/**
 * assemble puts the parts of `entries` (oldest Ingress first) together: routes in order, each service
 * once (the first Ingress that names it places it), certificates merged by Secret, the first default
 * backend, and every issue.
 */
export function assemble(entries: readonly AssemblyEntry[], context: string): Assembly {
  const out: Translation = {
    routes: [],
    services: [],
    certificates: [],
    defaultService: undefined,
    routeOrigins: [],
    serviceOrigins: [],
    certificateOrigins: [],
    ingresses: [],
    issues: [],
  };
  const assembly: Assembly = {
    context,
    excluded: entries.filter((e) => e.part === undefined).length,
    entries,
    positions: new Map(entries.map((e, i) => [e.key, i])),
    routeOffsets: [],
    serviceIndex: new Map(),
    certificateIndex: new Map(),
    out,
  };
  for (const entry of entries) add(assembly, entry, assembly.routeOffsets as number[]);
  return assembly;
}

/** add appends one entry's part to an assembly's translation. */
function add(assembly: Assembly, entry: AssemblyEntry, routeOffsets: number[]): void {
  const { out, serviceIndex, certificateIndex } = assembly;
  const { key: origin, part } = entry;
  out.ingresses.push(entry.ingress);
  routeOffsets.push(out.routes.length);
  if (part === undefined) return;
  if (part.issues.length > 0) out.issues.push(...part.issues);
  for (const { name, part: service } of part.services) {
    const existing = serviceIndex.get(name);
    if (existing !== undefined) {
      out.serviceOrigins[existing]!.push(origin);
      continue;
    }
    serviceIndex.set(name, out.services.length);
    out.services.push(service.service);
    out.serviceOrigins.push([origin]);
  }
  for (const c of part.certificates) {
    const existing = certificateIndex.get(c.name);
    if (existing === undefined) {
      certificateIndex.set(c.name, out.certificates.length);
      out.certificates.push({
        name: c.name,
        cert: c.cert,
        key: c.key,
        ...(c.hosts ? { hosts: [...c.hosts] } : {}),
      });
      out.certificateOrigins.push([origin]);
      continue;
    }
    // One Secret named by several Ingresses serves all their hosts (or all its own names, if one says so).
    const certificate = out.certificates[existing]!;
    if (certificate.hosts !== undefined) {
      if (c.hosts === undefined) delete certificate.hosts;
      else certificate.hosts = [...new Set([...certificate.hosts, ...c.hosts])];
    }
    const origins = out.certificateOrigins[existing]!;
    if (!origins.includes(origin)) origins.push(origin);
  }
  for (const route of part.routes) {
    out.routes.push(route);
    out.routeOrigins.push(origin);
  }
  if (out.defaultService === undefined) out.defaultService = part.defaultService;
}

/** AssemblyChanges are the new parts of Ingresses already in place, and Ingresses to add at the end. */
export interface AssemblyChanges {
  readonly replaced: readonly AssemblyEntry[];
  readonly appended: readonly AssemblyEntry[];
}

/**
 * patchAssembly makes the next assembly from `last` by replacing the parts of Ingresses that changed in
 * place and appending new (newest) Ingresses, in time proportional to what changed plus a copy of the
 * lists. It returns undefined when the change has a shape it does not handle (a part with other routes
 * or services than before, certificates, an Ingress that left): then everything is assembled again.
 * `last` is not usable afterwards: its indexes move to the result.
 */
export function patchAssembly(last: Assembly, changes: AssemblyChanges): Assembly | undefined {
  if (last.excluded > 0) return undefined;
  for (const entry of changes.replaced) {
    const position = last.positions.get(entry.key);
    if (position === undefined || entry.part === undefined) return undefined;
    if (!sameShape(last.entries[position]!.part!, entry.part)) return undefined;
  }
  for (const entry of changes.appended)
    if (entry.part === undefined || entry.part.certificates.length > 0 || last.positions.has(entry.key))
      return undefined;
  const previous = last.out;
  const out: Translation = {
    routes: previous.routes.slice(),
    services: previous.services.slice(),
    certificates: previous.certificates,
    defaultService: previous.defaultService,
    routeOrigins: previous.routeOrigins.slice(),
    serviceOrigins: previous.serviceOrigins.slice(),
    certificateOrigins: previous.certificateOrigins,
    ingresses: previous.ingresses.slice(),
    issues: [],
  };
  const entries = last.entries.slice();
  let issuesMoved = false;
  for (const entry of changes.replaced) {
    const position = last.positions.get(entry.key)!;
    const old = entries[position]!.part!;
    const part = entry.part!;
    entries[position] = entry;
    out.ingresses[position] = entry.ingress;
    const offset = last.routeOffsets[position]!;
    part.routes.forEach((route, i) => {
      out.routes[offset + i] = route;
    });
    for (const { name, part: service } of part.services)
      out.services[last.serviceIndex.get(name)!] = service.service;
    if (old.issues.length > 0 || part.issues.length > 0) issuesMoved = true;
  }
  const positions = last.positions as Map<string, number>;
  const routeOffsets = last.routeOffsets as number[];
  const growing: Assembly = { ...last, entries, positions, routeOffsets, out };
  for (const entry of changes.appended) {
    positions.set(entry.key, entries.length);
    entries.push(entry);
    // Origins lists are shared with the last translation: a service the new Ingress also names gets a copy.
    for (const { name } of entry.part!.services) {
      const existing = last.serviceIndex.get(name);
      if (existing !== undefined) out.serviceOrigins[existing] = [...out.serviceOrigins[existing]!];
    }
    if (entry.part!.issues.length > 0) issuesMoved = true;
    add(growing, entry, routeOffsets);
  }
  const issues = issuesMoved ? entries.flatMap((e) => e.part?.issues ?? []) : previous.issues;
  return { ...growing, out: { ...out, issues } };
}

/** sameShape says whether a part puts the same things in the same places as `old`. */
function sameShape(old: IngressPart, part: IngressPart): boolean {
  if (old === part) return true;
  if (old.routes.length !== part.routes.length || old.services.length !== part.services.length) return false;
  if (old.defaultService !== part.defaultService) return false;
  for (let i = 0; i < old.services.length; i++)
    if (old.services[i]!.name !== part.services[i]!.name) return false;
  if (old.certificates.length !== part.certificates.length) return false;
  for (let i = 0; i < old.certificates.length; i++) {
    const a = old.certificates[i]!;
    const b = part.certificates[i]!;
    if (a.name !== b.name || a.cert !== b.cert || a.key !== b.key) return false;
    if (JSON.stringify(a.hosts) !== JSON.stringify(b.hosts)) return false;
  }
  return true;
}
