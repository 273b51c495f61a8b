import { createRequire } from 'node:module';

type CompiledValidator = typeof import('./generated/config-validator.ts');
let compiled: CompiledValidator | undefined;

/**
 * compiledValidator returns the config schema compiled ahead of time (`src/generated/config-validator.ts`,
 * written by `pnpm docs:generate` with the options of `VALIDATOR_OPTIONS`: every error, defaults filled
 * in) and the schema as JSON. It is loaded on first use (a 440 KB module, several MiB resident once
 * compiled), so that what only needs the config's types and defaults (the data plane, a worker process,
 * an embedding app) never pays for it.
 */
export function compiledValidator(): CompiledValidator {
  // The module is `.ts` in development (type stripping) and `.js` once built, as this file is.
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  compiled ??= createRequire(import.meta.url)(
    `./generated/config-validator${extension}`,
  ) as CompiledValidator;
  return compiled;
}
