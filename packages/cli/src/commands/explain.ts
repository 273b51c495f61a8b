import { formatProblem, loadConfigFile } from '@portico/discovery/file';
import { pathFilterNames } from '@portico/proxy';
import { compileRouteTable, describeRule, explain } from '@portico/router';
import { explanationJson } from '../explanation-json.ts';
import { routeSpecs } from '../route-specs.ts';

const MARKS = {
  matched: '✔',
  shorter: '·',
  tied: '·',
  'no-match': '✘',
  'other-host': '–',
  conditional: '?',
} as const;

/**
 * explainCommand tells which route of a config file serves a URL and why each other route does not, as
 * the proxy would decide it. It resolves with the exit code: 0 when a route (or the default) serves the
 * URL, 2 when the request would get 404, 1 when the config or URL is invalid.
 */
export async function explainCommand(
  file: string,
  url: string,
  json: boolean,
  out: (line: string) => void,
): Promise<number> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    out(`error: "${url}" is not an absolute URL; write it as http://host/path`);
    return 1;
  }
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    for (const problem of loaded.problems) out(`error: ${formatProblem(problem)}`);
    return 1;
  }
  const { config } = loaded;
  const { table } = compileRouteTable(
    routeSpecs(config),
    config.defaultService === undefined ? {} : { defaultTarget: config.defaultService },
  );
  const result = explain(table, target.host, target.pathname);
  if (json) {
    out(JSON.stringify(explanationJson(result, String), null, 2));
  } else {
    const selected =
      result.hostSelection === 'none'
        ? 'matches no rule host'
        : result.hostSelection === 'any'
          ? 'selects the rules without a host'
          : `selects the rules of ${result.hostPattern} (${result.hostSelection})`;
    out(`${target.host}${target.pathname}: host ${result.host} ${selected}`);
    for (const v of result.verdicts) {
      out(
        `  ${MARKS[v.verdict]} ${v.rule.id} ${describeRule(v.rule)} -> ${String(v.rule.target)}: ${v.reason}`,
      );
    }
    if (result.match === undefined) out('=> 404: no route matches and there is no defaultService');
    else if (result.usedDefault) out(`=> defaultService ${String(result.match.target)}`);
    else {
      const at = /^routes\[(\d+)\]\.paths\[(\d+)\]$/.exec(result.match.id);
      const filters = at === null ? [] : pathFilterNames(config, Number(at[1]), Number(at[2]));
      out(
        `=> ${destination(String(result.match.target))} (route ${result.match.routeName}, ${result.match.id})${filters.length === 0 ? '' : `, filters: ${filters.join(', ')}`}`,
      );
    }
  }
  return result.match === undefined ? 2 : 0;
}

/** destination names what a rule's target (a `pathDestination`) is: a redirect, backends or a service. */
function destination(target: string): string {
  if (target.startsWith('redirect ')) return target;
  return target.includes('=') ? `backends ${target}` : `service ${target}`;
}
