export { type HostPattern, hostFromHeader, parseHostPattern } from './host.ts';
export { checkRulePath, type PathType, prefixKey, requestPath } from './path.ts';
export {
  type CompiledRoutes,
  compileRouteTable,
  type PathSpec,
  ROUTE_ISSUE_CODES,
  type RouteIssue,
  type RouteIssueCode,
  type RouteSpec,
  RouteTable,
  type RouteTableOptions,
  type Rule,
} from './route-table.ts';
