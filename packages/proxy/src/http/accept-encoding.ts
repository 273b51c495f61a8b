/**
 * preferredEncoding picks the content coding to send from `offered` (preferred first) for a request's
 * `Accept-Encoding` value (RFC 9110 12.5.3): the one with the highest q-value above 0, an equal q-value
 * going to the one offered first. A coding the header does not name takes the q-value of `*`, or is not
 * acceptable when there is no `*`. Undefined when nothing offered is acceptable (or there is no header).
 */
export function preferredEncoding(
  header: string | undefined,
  offered: readonly string[],
): string | undefined {
  if (header === undefined || header.length === 0) return undefined;
  let best: string | undefined;
  let bestQ = 0;
  let bestRank = offered.length;
  let anyQ = -1;
  const named: (number | undefined)[] = new Array(offered.length);
  for (const part of header.split(',')) {
    const semicolon = part.indexOf(';');
    const coding = (semicolon < 0 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    if (coding.length === 0) continue;
    const q = semicolon < 0 ? 1 : qValue(part.slice(semicolon + 1));
    if (coding === '*') anyQ = q;
    else {
      const rank = offered.indexOf(coding);
      if (rank >= 0) named[rank] = Math.max(named[rank] ?? 0, q);
    }
  }
  for (let rank = 0; rank < offered.length; rank++) {
    const q = named[rank] ?? Math.max(anyQ, 0);
    if (q > bestQ || (q === bestQ && q > 0 && rank < bestRank)) {
      best = offered[rank];
      bestQ = q;
      bestRank = rank;
    }
  }
  return best;
}

/** qValue reads `q=0.5` from a coding's parameters; 1 when absent, 0 when malformed (so it is ignored). */
function qValue(params: string): number {
  for (const param of params.split(';')) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
    const value = param.slice(eq + 1).trim();
    if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value)) return 0;
    return Number(value);
  }
  return 1;
}
