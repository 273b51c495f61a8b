import { compiledValidator } from './compiled-validator.ts';
import { jsonPath } from './config-error.ts';

/** REDACTED is what every secret field (`writeOnly` in the schema) shows outside the process. */
export const REDACTED = '<redacted>';

/** Schema is the part of the config's JSON Schema the walk reads (the schema as the validator holds it). */
type Schema = {
  readonly writeOnly?: boolean;
  readonly properties?: Record<string, Schema>;
  readonly items?: Schema;
  readonly additionalProperties?: Schema | boolean;
};

/**
 * redactSecrets returns a copy of a config (or a config document) with every field the schema marks
 * secret (`writeOnly`: private keys, the admin token, affinity HMAC keys) replaced by `REDACTED`. It is
 * the one place that knows which fields are secret: the admin API, logs and errors go through it.
 */
export function redactSecrets<T>(config: T): T {
  return walk(compiledValidator().configSchema as Schema, config, undefined, [], () => REDACTED) as T;
}

/**
 * restoreSecrets returns a copy of `document` in which each secret field that holds `REDACTED` takes
 * the value of the same field in `current` (list items are matched by `name`, or by position when they
 * have none), so a config read from the admin API can be written back unchanged. `unresolved` lists the
 * paths of placeholders with no current value to keep.
 */
export function restoreSecrets(
  document: unknown,
  current: unknown,
): { readonly document: unknown; readonly unresolved: readonly string[] } {
  const unresolved: string[] = [];
  const restored = walk(
    compiledValidator().configSchema as Schema,
    document,
    current,
    [],
    (value, kept, at) => {
      if (value !== REDACTED) return value;
      if (typeof kept === 'string') return kept;
      unresolved.push(jsonPath(at));
      return value;
    },
  );
  return { document: restored, unresolved };
}

/**
 * walk copies `value` along `schema`, calling `onSecret` for each secret field with its value, the
 * matching value of `current`, and its path; what it returns replaces the field.
 */
function walk(
  schema: Schema,
  value: unknown,
  current: unknown,
  at: (string | number)[],
  onSecret: (value: unknown, current: unknown, at: (string | number)[]) => unknown,
): unknown {
  if (value === undefined || value === null) return value;
  if (schema.writeOnly === true) return onSecret(value, current, at);
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items === undefined) return value;
    return value.map((item, i) => walk(items, item, matchItem(current, item, i), [...at, i], onSecret));
  }
  if (typeof value !== 'object') return value;
  const properties = schema.properties;
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  if (properties === undefined && extra === undefined) return value;
  const source = value as Record<string, unknown>;
  const from = (typeof current === 'object' && current !== null ? current : {}) as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    const sub = properties?.[key] ?? extra;
    copy[key] = sub === undefined ? source[key] : walk(sub, source[key], from[key], [...at, key], onSecret);
  }
  return copy;
}

/** matchItem finds the item of `current` that `item` replaces: the one with its `name`, or at `i`. */
function matchItem(current: unknown, item: unknown, i: number): unknown {
  if (!Array.isArray(current)) return undefined;
  const name = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined;
  if (typeof name === 'string') return current.find((c) => (c as { name?: unknown } | null)?.name === name);
  return current[i];
}
