import { readFile } from 'node:fs/promises';
import {
  type Ingress,
  KubeClient,
  type NginxFinding,
  readNginxAnnotations,
  resolveKubeConnection,
} from '@portico/discovery';
import { parseAllDocuments } from 'yaml';

/** MigrateOptions say where the Ingresses come from and which class is ingress-nginx's. */
export interface MigrateOptions {
  /** files are YAML or JSON files of Ingresses (`kind: Ingress`, or a `List` of them); none: the cluster. */
  readonly files: readonly string[];
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string;
  /** ingressClass is ingress-nginx's class: `nginx` by default. */
  readonly ingressClass: string;
  readonly json: boolean;
}

/** IngressReport is what `portico migrate` says of one Ingress. */
export interface IngressReport {
  readonly ingress: string;
  /** served: false when a security-relevant annotation cannot be honoured (the Ingress fails closed). */
  readonly served: boolean;
  /** same: every annotation is honoured as ingress-nginx does (translated or without effect there too). */
  readonly same: boolean;
  readonly findings: readonly NginxFinding[];
}

const OUTCOME_LABELS: Record<NginxFinding['outcome'], string> = {
  translated: 'translated ',
  accepted: 'no effect  ',
  unsupported: 'UNSUPPORTED',
  invalid: 'INVALID    ',
  'fail-closed': 'FAIL-CLOSED',
};

/**
 * migrateCommand reads Ingresses of ingress-nginx's class (from files, or from the cluster through the
 * kubeconfig) and prints, per Ingress, what each `nginx.ingress.kubernetes.io/` annotation becomes in
 * Portico: translated, without effect, unsupported, or failing closed; then a summary. It returns 1
 * when any Ingress would not be served (a security-relevant annotation Portico cannot honour), 2 when
 * the Ingresses cannot be read, 0 otherwise.
 */
export async function migrateCommand(
  options: MigrateOptions,
  print: (line: string) => void,
): Promise<number> {
  let ingresses: Ingress[];
  try {
    ingresses = options.files.length > 0 ? await fromFiles(options.files) : await fromCluster(options);
  } catch (error) {
    print(`cannot read the Ingresses: ${(error as Error).message}`);
    return 2;
  }
  const ours = ingresses.filter((i) => classOf(i) === options.ingressClass || classOf(i) === undefined);
  const reports = ours.map(reportOf);
  if (options.json) print(JSON.stringify(reports, null, 2));
  else for (const line of render(reports, options.ingressClass)) print(line);
  return reports.some((r) => !r.served) ? 1 : 0;
}

function reportOf(ingress: Ingress): IngressReport {
  const { findings } = readNginxAnnotations(ingress.metadata.annotations);
  return {
    ingress: `${ingress.metadata.namespace ?? 'default'}/${ingress.metadata.name}`,
    served: !findings.some((f) => f.outcome === 'fail-closed'),
    same: findings.every((f) => f.outcome === 'translated' && f.support === 'yes'),
    findings,
  };
}

function render(reports: readonly IngressReport[], ingressClass: string): string[] {
  const lines: string[] = [];
  for (const report of reports) {
    const state = !report.served
      ? 'NOT SERVED (fails closed)'
      : report.same
        ? 'same behaviour'
        : 'served, with differences';
    lines.push(`${report.ingress}: ${state}`);
    for (const f of report.findings)
      lines.push(`  ${OUTCOME_LABELS[f.outcome]} ${f.annotation}=${JSON.stringify(f.value)}: ${f.detail}`);
  }
  const notServed = reports.filter((r) => !r.served).length;
  const same = reports.filter((r) => r.served && r.same).length;
  const counts = new Map<string, number>();
  for (const r of reports)
    for (const f of r.findings) counts.set(f.outcome, (counts.get(f.outcome) ?? 0) + 1);
  lines.push(
    '',
    `${reports.length} Ingresses of class ${ingressClass}: ${same} behave the same, ${reports.length - same - notServed} are served with differences, ${notServed} would not be served (fail closed).`,
    `annotations: ${[...counts].map(([outcome, n]) => `${n} ${outcome}`).join(', ') || 'none'}.`,
  );
  return lines;
}

/** classOf is an Ingress's class: `spec.ingressClassName`, else the legacy annotation. */
function classOf(ingress: Ingress): string | undefined {
  return ingress.spec?.ingressClassName ?? ingress.metadata.annotations?.['kubernetes.io/ingress.class'];
}

async function fromFiles(files: readonly string[]): Promise<Ingress[]> {
  const out: Ingress[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      collect(doc.toJS(), out);
    }
  }
  return out;
}

function collect(value: unknown, out: Ingress[]): void {
  if (value === null || typeof value !== 'object') return;
  const object = value as { kind?: string; items?: unknown[]; metadata?: { name?: string } };
  if (object.kind === 'Ingress' && object.metadata?.name !== undefined) out.push(value as Ingress);
  else if (Array.isArray(object.items))
    for (const item of object.items) collect({ kind: 'Ingress', ...(item as object) }, out);
}

async function fromCluster(options: MigrateOptions): Promise<Ingress[]> {
  const connection = resolveKubeConnection({
    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
    ...(options.context === undefined ? {} : { context: options.context }),
  });
  const client = new KubeClient(connection);
  try {
    const path =
      options.namespace === undefined
        ? '/apis/networking.k8s.io/v1/ingresses'
        : `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/ingresses`;
    const list = await client.json<{ items: Ingress[] }>({ path });
    return list.items;
  } finally {
    await client.close();
  }
}
