import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * tokenMatches compares a request's `Authorization: Bearer <token>` with the configured token in
 * constant time (both are hashed first, so lengths leak nothing either).
 */
export function tokenMatches(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined || !authorization.startsWith('Bearer ')) return false;
  const given = createHash('sha256').update(authorization.slice(7)).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected);
}
