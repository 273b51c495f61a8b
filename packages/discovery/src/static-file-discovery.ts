import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadConfigFile } from './config-file.ts';
import type { ConfigUpdate, Discovery } from './discovery.ts';
import { resolveReferencedFiles } from './referenced-files.ts';

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
 * reloads after events settle, and reports only real changes. Files the config names (certificates, keys,
 * CA bundles; relative paths are taken from the config file's directory) are watched too: when one changes,
 * the config is reported again, so a renewed certificate is served without a restart.
 */
export class StaticFileDiscovery implements Discovery {
  readonly file: string;
  readonly #debounceMs: number;
  readonly #check: StaticFileOptions['check'];
  #watcher: FSWatcher | undefined;
  /** #fileWatchers watch the directories of the files the config names, by directory. */
  readonly #fileWatchers = new Map<string, FSWatcher>();
  #files = new Set<string>();
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

  #schedule(force = false): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#force ||= force;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const again = this.#force;
      this.#force = false;
      this.#loading = this.#loading.then(() => this.#reload(again));
    }, this.#debounceMs);
  }

  /** #force is set when a referenced file changed: the config is reported even if its text did not. */
  #force = false;

  /** #watchFiles follows the directories of `files` (Kubernetes Secret volumes swap a `..data` symlink). */
  #watchFiles(files: readonly string[]): void {
    this.#files = new Set(files);
    const dirs = new Set(files.map((file) => dirname(file)));
    for (const [dir, watcher] of this.#fileWatchers) {
      if (dirs.has(dir)) continue;
      watcher.close();
      this.#fileWatchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.#fileWatchers.has(dir)) continue;
      try {
        const watcher = watch(dir, (_event, changed) => {
          if (changed === null || changed.startsWith('..') || this.#files.has(resolve(dir, changed)))
            this.#schedule(true);
        });
        watcher.on('error', () => {});
        this.#fileWatchers.set(dir, watcher);
      } catch {
        // A missing directory is reported as an unreadable file when the config is applied.
      }
    }
  }

  /**
   * reload reads the file now and reports it if it changed since the last report, or whatever it holds
   * with `force` (something the config does not name changed: a certificate ACME renewed).
   */
  async reload(force = false): Promise<void> {
    this.#loading = this.#loading.then(() => this.#reload(force));
    await this.#loading;
  }

  async #reload(force = false): Promise<void> {
    const loaded = await loadConfigFile(this.file);
    if (!force && loaded.text !== undefined && loaded.text === this.#lastText) return;
    this.#lastText = loaded.text;
    let update: ConfigUpdate;
    if (loaded.ok) {
      const { config, files } = resolveReferencedFiles(loaded.config, dirname(this.file));
      this.#watchFiles(files);
      update = { ok: true, config, source: this.file, locate: loaded.locate };
    } else {
      update = { ok: false, problems: loaded.problems, source: this.file };
    }
    if (update.ok && this.#check) update = this.#check(update);
    await this.#onUpdate?.(update);
  }

  async stop(): Promise<void> {
    this.#watcher?.close();
    for (const watcher of this.#fileWatchers.values()) watcher.close();
    this.#fileWatchers.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#loading;
  }
}
