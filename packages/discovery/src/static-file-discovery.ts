import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadConfigFile } from './config-file.ts';
import type { ConfigUpdate, Discovery } from './discovery.ts';

/** StaticFileOptions configure `StaticFileDiscovery`. */
export interface StaticFileOptions {
  /** debounceMs waits this long after the last file event before reloading: 50 ms by default. */
  readonly debounceMs?: number;
  /** check validates a config beyond its schema (routes, say) and returns problems; none applies it. */
  readonly check?: (update: ConfigUpdate & { ok: true }) => ConfigUpdate;
}

/** DEFAULT_DEBOUNCE_MS is how long file events settle before a reload. */
export const DEFAULT_DEBOUNCE_MS = 50;

/**
 * StaticFileDiscovery serves a YAML or JSON file and follows its changes: it watches the file's directory
 * (so editors that write a new file and rename it, and Kubernetes ConfigMap symlink swaps, are seen),
 * reloads after events settle, and reports only real changes.
 */
export class StaticFileDiscovery implements Discovery {
  readonly file: string;
  readonly #debounceMs: number;
  readonly #check: StaticFileOptions['check'];
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastText: string | undefined;
  #onUpdate: ((update: ConfigUpdate) => void | Promise<void>) | undefined;
  #loading: Promise<void> = Promise.resolve();

  constructor(file: string, options: StaticFileOptions = {}) {
    this.file = resolve(file);
    this.#debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.#check = options.check;
  }

  async start(onUpdate: (update: ConfigUpdate) => void | Promise<void>): Promise<void> {
    this.#onUpdate = onUpdate;
    const name = basename(this.file);
    this.#watcher = watch(dirname(this.file), (_event, changed) => {
      if (changed === null || changed === name || changed.startsWith('..')) this.#schedule();
    });
    await this.#reload();
  }

  #schedule(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#loading = this.#loading.then(() => this.#reload());
    }, this.#debounceMs);
  }

  /** reload reads the file now and reports it if it changed since the last report. */
  async reload(): Promise<void> {
    this.#loading = this.#loading.then(() => this.#reload());
    await this.#loading;
  }

  async #reload(): Promise<void> {
    const loaded = await loadConfigFile(this.file);
    if (loaded.text !== undefined && loaded.text === this.#lastText) return;
    this.#lastText = loaded.text;
    let update: ConfigUpdate = loaded.ok
      ? { ok: true, config: loaded.config, source: this.file, locate: loaded.locate }
      : { ok: false, problems: loaded.problems, source: this.file };
    if (update.ok && this.#check) update = this.#check(update);
    await this.#onUpdate?.(update);
  }

  async stop(): Promise<void> {
    this.#watcher?.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#loading;
  }
}
