import { prefixKey, type Rule } from '@portico/router';

/**
 * rewriteTarget replaces the part of the request path a rule matched with `replacement`, as nginx's
 * `rewrite-target` does, and keeps the query. For Prefix rules the matched part is the prefix (`/api`
 * in `/api/users`), for Exact the whole path, for regex rules the matched text, where `$1`... refer to
 * the expression's groups. A doubled slash at the seam is collapsed.
 */
export function rewriteTarget(
  rule: Rule<unknown>,
  target: string,
  path: string,
  replacement: string,
): string {
  const query = target.length > path.length ? target.slice(path.length) : '';
  let rewritten: string;
  if (rule.regex !== undefined) {
    rewritten = path.replace(rule.regex, replacement);
  } else {
    const matched = rule.type === 'Exact' ? path.length : prefixKey(rule.path).length;
    const rest = path.slice(matched);
    rewritten =
      replacement.endsWith('/') && rest.startsWith('/') ? replacement + rest.slice(1) : replacement + rest;
  }
  if (rewritten === '' || rewritten.charCodeAt(0) !== 0x2f) rewritten = `/${rewritten}`;
  return rewritten + query;
}
