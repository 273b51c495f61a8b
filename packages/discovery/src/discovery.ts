import type { PorticoConfig } from '@portico/config';
import type { FileProblem } from './config-file.ts';

/** ConfigUpdate is what a discovery source reports: a new valid config, or why the latest one is not. */
export type ConfigUpdate =
  | {
      readonly ok: true;
      readonly config: PorticoConfig;
      readonly source: string;
      /** locate turns a JSON path (`routes[2].host`) into a position in the source, for messages. */
      readonly locate: (path: string) => string;
      /** receivedAt is when the news this config answers arrived (`performance.now()`), for convergence. */
      readonly receivedAt?: number;
    }
  | { readonly ok: false; readonly problems: readonly FileProblem[]; readonly source: string };

/**
 * Discovery is a source of config. `start` reports the current config (or its problems) before it
 * resolves, then every change; an invalid change is reported and the consumer keeps its last good config.
 */
export interface Discovery {
  start(onUpdate: (update: ConfigUpdate) => void | Promise<void>): Promise<void>;
  stop(): Promise<void>;
}
