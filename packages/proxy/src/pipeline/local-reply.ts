/**
 * LocalReply is a response Portico makes itself instead of proxying: a redirect, a refusal. Codecs render
 * it in their own protocol; `fields` are lower-case names with wire-safe values (a HeadEditor checked them).
 */
export interface LocalReply {
  readonly status: number;
  /** fields are name, value pairs, flat: [name0, value0, name1, value1, ...]. */
  readonly fields: readonly string[];
  /** body is sent as is (with a matching content-length); empty when undefined. */
  readonly body?: string | undefined;
  /** refusal says which policy refused the request, for the counters; undefined for other replies. */
  readonly refusal?: 'denied' | 'rate-limited' | 'unauthorized';
}
