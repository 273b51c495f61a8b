import { randomBytes } from 'node:crypto';

/** COUNTER_LIMIT is where the counter part (48 bits, the UUID's last 12 hex digits) wraps: a new prefix then. */
const COUNTER_LIMIT = 2 ** 48;

let prefix = '';
let counter = COUNTER_LIMIT;

/** newPrefix draws the random part of the ids: 74 random bits laid out as a version 8 UUID's first 20 digits. */
function newPrefix(): string {
  const bytes = randomBytes(10);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8 (RFC 9562 section 5.8: custom layout)
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-`;
}

/**
 * nextRequestId returns the `x-request-id` Portico generates for a request that has none: a version 8
 * UUID (RFC 9562) made of 74 random bits drawn once per process and a 48-bit counter, so each id is
 * unique in the process and, with overwhelming odds, across a fleet, for the price of a string
 * concatenation instead of 16 random bytes per request. The ids are predictable from one another, which
 * gives a client nothing it lacks: it may send any `x-request-id` of its own.
 */
export function nextRequestId(): string {
  if (counter >= COUNTER_LIMIT) {
    prefix = newPrefix();
    counter = 0;
  }
  const digits = (counter++).toString(16);
  return prefix + '000000000000'.slice(digits.length) + digits;
}
