/** ConfigIssue is one problem found in a config document, located by its JSON path. */
export interface ConfigIssue {
  /** path is the JSON path of the offending value, such as `routes[2].paths[0].type`; `` for the root. */
  readonly path: string;
  /** segments is `path` split into keys and indexes, for locating the value in a source file. */
  readonly segments: readonly (string | number)[];
  /** message says what was wrong and what was expected. */
  readonly message: string;
}

/** CONFIG_ERROR_CODES lists every code a `PorticoConfigError` carries. */
export const CONFIG_ERROR_CODES = {
  PORTICO_CONFIG_INVALID: 'The config document breaks the schema or refers to something that does not exist.',
} as const;

export type ConfigErrorCode = keyof typeof CONFIG_ERROR_CODES;

/** PorticoConfigError is the base error of `@portico/config`; `issues` lists each problem found. */
export class PorticoConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly issues: readonly ConfigIssue[];

  constructor(code: ConfigErrorCode, issues: readonly ConfigIssue[], source = 'config') {
    super(`${source} is invalid:\n${issues.map((issue) => `  ${formatIssue(issue)}`).join('\n')}`);
    this.name = 'PorticoConfigError';
    this.code = code;
    this.issues = issues;
  }
}

/** formatIssue renders an issue as `path: message`, or just the message at the root. */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/** jsonPath renders path segments as `routes[2].paths[0].type`. */
export function jsonPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}
