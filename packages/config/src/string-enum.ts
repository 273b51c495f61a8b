import { type TUnsafe, Type } from '@sinclair/typebox';

/**
 * StringEnum is a string schema restricted to `values`, written as a JSON Schema `enum` so that validation
 * errors read "must be one of A, B, C" rather than a union of `const` failures.
 */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}
