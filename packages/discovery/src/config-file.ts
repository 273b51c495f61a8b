import { readFile } from 'node:fs/promises';
import { type ConfigIssue, formatIssue, type PorticoConfig, validateConfig } from '@portico/config';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { PorticoDiscoveryError } from './discovery-error.ts';

/** READ_ERRORS says in words why a file could not be read. */
const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

/** FileProblem is one problem in a config file, with where it is. */
export interface FileProblem {
  /** code is `PORTICO_CONFIG_SYNTAX`, `PORTICO_CONFIG_FILE_UNREADABLE` or `PORTICO_CONFIG_INVALID`. */
  readonly code: string;
  /** where is `file:line:column`, or just the file when no position is known. */
  readonly where: string;
  /** path is the JSON path of the offending value (`routes[2].paths[0].type`), or `` for the document. */
  readonly path: string;
  readonly message: string;
}

/** LoadedConfig is the outcome of reading and validating a config file. */
export type LoadedConfig =
  | {
      readonly ok: true;
      readonly config: PorticoConfig;
      /** text is the file's content, to tell a real change from a touch. */
      readonly text: string;
      /** locate turns a JSON path such as `routes[2].host` into `file:line:column`. */
      readonly locate: (path: string) => string;
    }
  | { readonly ok: false; readonly problems: readonly FileProblem[]; readonly text: string | undefined };

/** formatProblem renders a problem the way compilers do: `file:line:col: path: message`. */
export function formatProblem(problem: FileProblem): string {
  return `${problem.where}: ${formatIssue({ path: problem.path, segments: [], message: problem.message })}`;
}

/**
 * loadConfigFile reads a YAML or JSON config file, parses it and validates it. Every problem is returned
 * with the line and column it is at, so a user can go straight to it.
 */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const error = new PorticoDiscoveryError(
      'PORTICO_CONFIG_FILE_UNREADABLE',
      `cannot read ${file}: ${READ_ERRORS[(cause as NodeJS.ErrnoException).code ?? ''] ?? (cause as Error).message}`,
      { cause },
    );
    return {
      ok: false,
      text: undefined,
      problems: [{ code: error.code, where: file, path: '', message: error.message }],
    };
  }
  return parseConfigText(text, file);
}

/** parseConfigText is `loadConfigFile` for text already read; `file` names it in messages. */
export function parseConfigText(text: string, file: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      text,
      problems: doc.errors.map((error) => {
        const at = error.linePos?.[0];
        return {
          code: 'PORTICO_CONFIG_SYNTAX',
          where: at ? `${file}:${at.line}:${at.col}` : file,
          path: '',
          message: error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
        };
      }),
    };
  }
  const locateSegments = (segments: readonly (string | number)[]): string => {
    for (let n = segments.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return `${file}:${pos.line}:${pos.col}`;
      }
    }
    return file;
  };
  const result = validateConfig(doc.toJS());
  if (!result.ok) {
    return {
      ok: false,
      text,
      problems: result.issues.map((issue: ConfigIssue) => ({
        code: 'PORTICO_CONFIG_INVALID',
        where: locateSegments(issue.segments),
        path: issue.path,
        message: issue.message,
      })),
    };
  }
  return { ok: true, config: result.config, text, locate: (path) => locateSegments(parseJsonPath(path)) };
}

/** parseJsonPath splits `routes[2].paths[0].type` into `['routes', 2, 'paths', 0, 'type']`. */
export function parseJsonPath(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    segments.push(match[2] === undefined ? match[1]! : Number(match[2]));
  }
  return segments;
}
