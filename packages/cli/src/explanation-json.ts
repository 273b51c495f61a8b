import { describeRule, type Explanation } from '@portico/router';

/**
 * explanationJson is the JSON shape of an explanation, shared by `portico explain --json` and the admin
 * API's `/routes?explain=`; `serviceOf` names a rule's service from its target.
 */
export function explanationJson<T>(result: Explanation<T>, serviceOf: (target: T) => string) {
  return {
    host: result.host,
    path: result.path,
    hostSelection: result.hostSelection,
    hostPattern: result.hostPattern ?? null,
    match: result.match
      ? { id: result.match.id, route: result.match.routeName, service: serviceOf(result.match.target) }
      : null,
    usedDefault: result.usedDefault,
    rules: result.verdicts.map((v) => ({
      id: v.rule.id,
      rule: describeRule(v.rule),
      verdict: v.verdict,
      reason: v.reason,
    })),
  };
}
