import { randomFillSync } from 'node:crypto';

/** TraceContext is an exchange's place in a W3C trace: its own span, and the span it continues. */
export interface TraceContext {
  /** traceId is 32 lower-case hex digits. */
  readonly traceId: string;
  /** spanId is Portico's span for the exchange, 16 hex digits: the parent the upstream sees. */
  readonly spanId: string;
  /** parentSpanId is the span of the client's `traceparent`, when it sent a valid one. */
  readonly parentSpanId: string | undefined;
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * parseTraceparent reads a `traceparent` field value (W3C Trace Context, level 1), or returns undefined
 * when it is absent or invalid (the trace then starts here, as the spec says): version `ff`, all-zero ids,
 * upper case, or a version 00 value with anything after the flags are all invalid.
 */
export function parseTraceparent(
  value: string | undefined,
): { traceId: string; parentId: string; sampled: boolean } | undefined {
  if (value === undefined || value.length < 55 || value.length > 512) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId: traceId!, parentId: parentId!, sampled: (Number.parseInt(flags!, 16) & 1) === 1 };
}

/** IDS is a pool of random bytes, refilled when used up: ids cost no system call per request. */
const IDS = Buffer.alloc(4_096);
let used = IDS.length;

function randomHex(bytes: number): string {
  if (used + bytes > IDS.length) {
    randomFillSync(IDS);
    used = 0;
  }
  const hex = IDS.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

/**
 * traceContextFor continues the trace of a request's `traceparent` (keeping its sampling decision) or
 * starts one (sampled with probability `sampleRatio`), with a new span id for Portico's span.
 */
export function traceContextFor(traceparent: string | undefined, sampleRatio: number): TraceContext {
  const parent = parseTraceparent(traceparent);
  let traceId = parent?.traceId ?? randomHex(16);
  while (traceId === ZERO_TRACE) traceId = randomHex(16);
  let spanId = randomHex(8);
  while (spanId === ZERO_SPAN) spanId = randomHex(8);
  return {
    traceId,
    spanId,
    parentSpanId: parent?.parentId,
    sampled: parent?.sampled ?? Math.random() < sampleRatio,
  };
}

/** traceparentLine renders the `traceparent` field line sent upstream, with Portico's span as parent. */
export function traceparentLine(trace: TraceContext): string {
  return `traceparent: 00-${trace.traceId}-${trace.spanId}-${trace.sampled ? '01' : '00'}\r\n`;
}
