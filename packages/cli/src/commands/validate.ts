import { dirname } from 'node:path';
import { formatProblem, loadConfigFile, resolveReferencedFiles } from '@portico/discovery/file';
import { checkFiles } from '../check-files.ts';
import { checkRoutes } from '../check-routes.ts';

/**
 * validateCommand checks a config file as `portico run` would and prints every problem, one per line,
 * as `file:line:col: path: message`: the schema, the routes, and the files it names (they exist, parse,
 * and each key matches its certificate). It resolves with the exit code: 0 valid, 1 invalid.
 */
export async function validateCommand(file: string, out: (line: string) => void): Promise<number> {
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    for (const problem of loaded.problems) out(`error: ${formatProblem(problem)}`);
    out(`${file}: invalid (${loaded.problems.length} error${loaded.problems.length === 1 ? '' : 's'})`);
    return 1;
  }
  const routeCheck = checkRoutes(loaded.config, loaded.locate);
  const files = checkFiles(resolveReferencedFiles(loaded.config, dirname(file)).config, loaded.locate);
  const errors = [...routeCheck.errors, ...files];
  const warnings = routeCheck.warnings;
  for (const problem of errors) out(`error: ${formatProblem(problem)}`);
  for (const problem of warnings) out(`warning: ${formatProblem(problem)}`);
  if (errors.length > 0) {
    out(`${file}: invalid (${errors.length} error${errors.length === 1 ? '' : 's'})`);
    return 1;
  }
  const { listeners, routes, services } = loaded.config;
  out(`${file}: valid (${listeners.length} listeners, ${routes.length} routes, ${services.length} services)`);
  return 0;
}
