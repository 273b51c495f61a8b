import { PorticoConfigSchema } from '@portico/config/schema';
import { NGINX_ANNOTATIONS } from '@portico/discovery';

/** JsonSchema is the part of a JSON Schema these renderers read. */
interface JsonSchema {
  type?: string;
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minItems?: number;
  patternProperties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  const?: unknown;
}

/** renderSchema is the published JSON Schema of `portico.yaml` (`schema/portico.schema.json`). */
export function renderSchema(): string {
  const schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://portico.dev/schema/portico.schema.json',
    ...JSON.parse(JSON.stringify(PorticoConfigSchema)),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

function typeOf(schema: JsonSchema): string {
  if (schema.patternProperties) return 'map of field name to value';
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' or ');
  if (schema.const !== undefined) return `\`${String(schema.const)}\``;
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (schema.type === 'array')
    return `list of ${schema.items?.type === 'object' ? 'objects' : typeOf(schema.items ?? {})}`;
  let type = schema.type ?? 'any';
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    type += ` ${schema.minimum ?? ''}..${schema.maximum === 2 ** 40 ? '' : (schema.maximum ?? '')}`;
  }
  return type;
}

function defaultOf(schema: JsonSchema, required: boolean): string {
  if (required) return 'required';
  if (schema.default === undefined) return '-';
  if (typeof schema.default === 'object')
    return JSON.stringify(schema.default) === '{}' ? 'see below' : '`[]`';
  return `\`${String(schema.default)}\``;
}

function section(title: string, schema: JsonSchema, out: string[], path: string): void {
  out.push(
    `## \`${path}\``,
    '',
    schema.description ?? title,
    '',
    '| field | type | default | description |',
    '|---|---|---|---|',
  );
  const nested: [string, JsonSchema][] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    if (name === '$schema') continue;
    const required = schema.required?.includes(name) ?? false;
    out.push(
      `| \`${name}\` | ${typeOf(field)} | ${defaultOf(field, required)} | ${field.description ?? ''} |`,
    );
    const child = field.type === 'array' ? field.items : field;
    if (child?.type === 'object' && child.properties !== undefined) {
      const childPath = `${path === '(root)' ? '' : `${path}.`}${name}${field.type === 'array' ? '[]' : ''}`;
      nested.push([
        childPath,
        { ...child, description: field.description ?? child.description ?? childPath },
      ]);
    }
  }
  out.push('');
  for (const [childPath, child] of nested) section(childPath, child, out, childPath);
}

/** renderConfigReference is `docs/config.md`: every field of the config, its type, unit and default. */
export function renderConfigReference(): string {
  const out = [
    '# Configuration reference',
    '',
    '<!-- Generated from the schema by `pnpm docs:generate`; a test fails when this file is out of date. -->',
    '',
    'A config file is YAML or JSON (`portico.yaml`). Editors complete and check it from',
    '[`schema/portico.schema.json`](../schema/portico.schema.json): add',
    '`# yaml-language-server: $schema=<path>/schema/portico.schema.json` at the top of the file.',
    'Field names carry their unit (`...Ms` milliseconds, `...Bytes` bytes). `portico validate <file>` checks a',
    'file and names each problem by line, column and path.',
    '',
  ];
  section('The whole document.', PorticoConfigSchema as unknown as JsonSchema, out, '(root)');
  return `${out.join('\n')}`;
}

/** ANNOTATION_TABLE_START and _END enclose the generated table in docs/migrate-from-ingress-nginx.md. */
export const ANNOTATION_TABLE_START = '<!-- annotation-table:start (generated: pnpm docs:generate) -->';
export const ANNOTATION_TABLE_END = '<!-- annotation-table:end -->';

/**
 * renderAnnotationTable is the table of every ingress-nginx annotation Portico knows, from the table the
 * translation itself uses (NGINX_ANNOTATIONS), with counts.
 */
export function renderAnnotationTable(): string {
  const entries = Object.entries(NGINX_ANNOTATIONS).sort(([a], [b]) => a.localeCompare(b));
  const counts = new Map<string, number>();
  for (const [, a] of entries) counts.set(a.support, (counts.get(a.support) ?? 0) + 1);
  const failClosed = entries.filter(([, a]) => a.support === 'no' && a.security).length;
  const lines = [
    ANNOTATION_TABLE_START,
    '',
    `${entries.length} annotations: ${counts.get('yes') ?? 0} supported, ${counts.get('partly') ?? 0} partly, ${counts.get('accepted') ?? 0} accepted without effect, ${counts.get('no') ?? 0} not supported (${failClosed} of them fail closed).`,
    '',
    '| annotation | support | security | what Portico does |',
    '|---|---|---|---|',
    ...entries.map(
      ([name, a]) =>
        `| \`${name}\` | ${a.support === 'no' && a.security ? 'no: fails closed' : a.support} | ${a.security ? 'yes' : ''} | ${a.note.replaceAll('|', '\\|')} |`,
    ),
    '',
    ANNOTATION_TABLE_END,
  ];
  return lines.join('\n');
}

/** withAnnotationTable returns `doc` with the generated table between its markers. */
export function withAnnotationTable(doc: string): string {
  const start = doc.indexOf(ANNOTATION_TABLE_START);
  const end = doc.indexOf(ANNOTATION_TABLE_END);
  if (start < 0 || end < 0)
    throw new Error('docs/migrate-from-ingress-nginx.md lacks the annotation table markers');
  return doc.slice(0, start) + renderAnnotationTable() + doc.slice(end + ANNOTATION_TABLE_END.length);
}
