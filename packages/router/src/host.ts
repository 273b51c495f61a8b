/**
 * hostFromHeader turns a Host header value (or an absolute-form authority) into the name routes are
 * matched on: lower case, without the port, without the brackets of an IPv6 literal, without a trailing
 * dot. It allocates nothing when the value is already in that form.
 */
export function hostFromHeader(value: string): string {
  let end = value.length;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf(']');
    return (close < 0 ? value : value.slice(1, close)).toLowerCase();
  }
  const colon = value.lastIndexOf(':');
  if (colon >= 0) end = colon;
  if (end > 0 && value.charCodeAt(end - 1) === 0x2e /* . */) end--;
  const name = end === value.length ? value : value.slice(0, end);
  return hasUpperCase(name) ? name.toLowerCase() : name;
}

function hasUpperCase(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/**
 * HostPattern is a rule's host: exact, a one-label wildcard (`*.example.com`, Ingress), a suffix wildcard
 * (`**.example.com`: one label or more, as a Gateway API hostname's `*`), or any host.
 */
export type HostPattern =
  | { readonly kind: 'exact'; readonly name: string }
  | { readonly kind: 'wildcard'; readonly suffix: string }
  | { readonly kind: 'suffix'; readonly suffix: string }
  | { readonly kind: 'any' };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * parseHostPattern validates a rule's host as Kubernetes does (a DNS-1123 subdomain, optionally with one
 * leading `*` label, or `**` for any number of labels; no IP address, no port) and returns its pattern,
 * or a message saying what is wrong.
 */
export function parseHostPattern(host: string | undefined): HostPattern | string {
  if (host === undefined || host === '') return { kind: 'any' };
  const name = host.toLowerCase();
  if (name === '*') return 'a bare "*" is not a valid host; omit the host to match every host';
  if (name.includes(':')) return `"${host}" must not contain a port or be an IPv6 address`;
  if (IPV4.test(name)) return `"${host}" is an IP address; Ingress hosts must be DNS names`;
  if (name.length > 253) return `"${host}" is longer than 253 characters`;
  const deep = name.startsWith('**.');
  const wildcard = deep || name.startsWith('*.');
  const suffix = deep ? name.slice(3) : wildcard ? name.slice(2) : name;
  const labels = suffix.split('.');
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return label.includes('*')
        ? `"${host}": "*" is allowed only as the whole first label ("*.example.com", or "**.example.com" for any depth)`
        : `"${host}": label "${label}" must be 1-63 lowercase letters, digits or "-", not starting or ending with "-"`;
    }
  }
  if (deep) return { kind: 'suffix', suffix };
  return wildcard ? { kind: 'wildcard', suffix } : { kind: 'exact', name };
}
