import type { PorticoConfig } from '@portico/config';
import type { ConfigUpdate, FileProblem } from '@portico/discovery';
import { compileRouteTable } from '@portico/router';
import { routeSpecs } from './route-specs.ts';

/** RouteCheck is the outcome of compiling a config's routes: errors block it, warnings do not. */
export interface RouteCheck {
  readonly errors: FileProblem[];
  readonly warnings: FileProblem[];
}

/** checkRoutes compiles the routes of `config` as the proxy will and reports what the router found. */
export function checkRoutes(config: PorticoConfig, locate: (path: string) => string): RouteCheck {
  const { issues } = compileRouteTable(routeSpecs(config));
  const errors: FileProblem[] = [];
  const warnings: FileProblem[] = [];
  for (const issue of issues) {
    const problem = { code: issue.code, where: locate(issue.at), path: issue.at, message: issue.message };
    (issue.severity === 'error' ? errors : warnings).push(problem);
  }
  return { errors, warnings };
}

/** withRouteCheck turns a valid update whose routes have errors into a rejected one. */
export function withRouteCheck(update: ConfigUpdate & { ok: true }): ConfigUpdate {
  const { errors } = checkRoutes(update.config, update.locate);
  return errors.length === 0 ? update : { ok: false, problems: errors, source: update.source };
}
