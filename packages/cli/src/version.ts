import { readFileSync } from 'node:fs';

/** VERSION is the version of the `portico` package. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
