import { hash as digest } from 'node:crypto';

/** KETAMA_CACHE_SIZE bounds the memo of recent key hashes; it is cleared whole when full. */
const KETAMA_CACHE_SIZE = 65_536;
const ketamaCache = new Map<string, number>();

/**
 * ketamaHash is libketama's key hash: the first four bytes of the key's MD5, little-endian. Ring-hash uses
 * it for points and keys, so a ring built here places keys as ketama clients (memcached) do. MD5 costs
 * about a microsecond, and hash keys repeat by nature (the same client, the same session), so recent
 * keys' hashes are remembered.
 */
export function ketamaHash(key: string): number {
  const known = ketamaCache.get(key);
  if (known !== undefined) return known;
  const d = digest('md5', key, 'buffer');
  const hash = (d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0;
  if (ketamaCache.size >= KETAMA_CACHE_SIZE) ketamaCache.clear();
  ketamaCache.set(key, hash);
  return hash;
}

/** ketamaPoints returns the four ring points of one ketama digest of `name`. */
export function ketamaPoints(name: string): [number, number, number, number] {
  const d = digest('md5', name, 'buffer');
  const point = (h: number) =>
    (d[h * 4]! | (d[h * 4 + 1]! << 8) | (d[h * 4 + 2]! << 16) | (d[h * 4 + 3]! << 24)) >>> 0;
  return [point(0), point(1), point(2), point(3)];
}

/**
 * fastHash is a 32-bit string hash (FNV-1a with a murmur3 finaliser), for Maglev lookups: a few
 * nanoseconds per key, well spread, the same on every instance.
 */
export function fastHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
