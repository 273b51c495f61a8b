export {
  type ConditionSpec,
  Conditions,
  compareConditions,
  type MatchInput,
  type ValueMatch,
} from './conditions.ts';
export { type Explanation, explain, type RuleVerdict, type Verdict } from './explain.ts';
export { type HostPattern, hostFromHeader, parseHostPattern } from './host.ts';
export { HostnameList } from './hostname-list.ts';
export { LayeredMap } from './layered-map.ts';
export { checkRulePath, type PathType, prefixKey, requestPath } from './path.ts';
export {
  type CompiledRoutes,
  compileRouteTable,
  type HostSelection,
  ROUTE_ISSUE_CODES,
  type RouteIssue,
  type RouteIssueCode,
  RouteTable,
  type RouteTableOptions,
} from './route-table.ts';
export { describeRule, type PathSpec, type RouteSpec, type Rule } from './rule.ts';
