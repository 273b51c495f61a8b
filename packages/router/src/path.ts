/** PathType is how a rule's path matches, as in Kubernetes Ingress v1. */
export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

const INVALID_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_SUFFIXES = ['/..', '/.'];

/**
 * checkRulePath validates a rule's path as the Kubernetes API server does for `Exact` and `Prefix` paths:
 * absolute, no `?` or `#`, none of `//`, `/./`, `/../`, `%2f`, and not ending in `/.` or `/..`. It
 * returns a message saying what is wrong, or undefined when the path is valid.
 */
export function checkRulePath(path: string): string | undefined {
  if (!path.startsWith('/')) return `"${path}" must start with "/"`;
  if (path.includes('?') || path.includes('#')) return `"${path}" must not contain "?" or "#"`;
  for (const sequence of INVALID_SEQUENCES) {
    if (path.includes(sequence)) return `"${path}" must not contain "${sequence}"`;
  }
  for (const suffix of INVALID_SUFFIXES) {
    if (path.endsWith(suffix)) return `"${path}" must not end with "${suffix}"`;
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c > 0x7e) return `"${path}" must not contain spaces or control characters`;
  }
  return undefined;
}

/**
 * prefixKey is the form a `Prefix` rule's path is stored in: without trailing slashes, and `` for `/`.
 * `/foo/` and `/foo` are the same prefix.
 */
export function prefixKey(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

/**
 * requestPath returns the path of a request target, without its query. For origin-form targets
 * (`/a/b?x=1`) this is `/a/b`; it allocates nothing when there is no query.
 */
export function requestPath(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}
