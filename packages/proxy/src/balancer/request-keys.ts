/**
 * RequestKeys are the parts of a request hash policies and affinity may key on. Each is computed only
 * when asked for, so a policy that hashes on nothing costs nothing.
 */
export interface RequestKeys {
  /** clientAddress is the client's address after PROXY/X-Forwarded-For trust rules. */
  clientAddress(): string;
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
  path(): string;
  query(name: string): string | undefined;
}

/** cookieFrom finds cookie `name` in a Cookie field value (`a=1; b=2`). */
export function cookieFrom(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** queryFrom finds parameter `name` in a request target's query, undecoded. */
export function queryFrom(target: string, name: string): string | undefined {
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  for (const pair of target.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if ((eq < 0 ? pair : pair.slice(0, eq)) === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}
