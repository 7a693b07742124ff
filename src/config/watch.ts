// Follows a config file the way Kubernetes updates a mounted ConfigMap: kubelet writes a new
// `..<timestamp>` folder, points `..data` at it with a symlink swap and deletes the old folder;
// the visible `config.yaml -> ..data/config.yaml` link never changes. So the watch is on the
// folder (depth 0, symlinks not followed), every event there only schedules a check, and the
// check compares the file's content hash with the running config's. Kubelet's periodic
// touches and no-op swaps therefore cost one read and nothing else. A timer re-checks as well,
// for filesystems where inotify events never come.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';

import type { Logger } from '../logger.js';
import { onlyThese } from '../util/watch-filter.js';

export interface ConfigWatcherOptions {
  path: string;
  /** Hash of the config now running; a file with this hash is not a change. */
  currentSha256: () => string;
  /** Called with the new bytes when the content changed. */
  onChange: (bytes: Buffer, reason: string) => Promise<void>;
  logger: Logger;
  /** Events closer together than this are one change. */
  debounceMs?: number;
  /** The safety-net re-check interval; 0 turns it off. */
  pollMs?: number;
  /** Whether to watch the folder at all (false: only polling and explicit triggers). */
  watch?: boolean;
}

/** A missing file is re-read this many times, this far apart, before it counts as missing. */
const MISSING_RETRIES_MS = [200, 500, 1000];

export class ConfigWatcher {
  readonly #options: Required<ConfigWatcherOptions>;
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #checking: Promise<void> = Promise.resolve();
  #pendingReason: string | undefined;
  #closed = false;

  constructor(options: ConfigWatcherOptions) {
    this.#options = { debounceMs: 300, pollMs: 10_000, watch: true, ...options };
  }

  start(): void {
    if (this.#options.watch) {
      this.#watchFolder();
    }
    if (this.#options.pollMs > 0) {
      this.#poll = setInterval(() => {
        this.trigger('poll');
      }, this.#options.pollMs);
      this.#poll.unref();
    }
  }

  #watchFolder(): void {
    const folder = dirname(this.#options.path);
    this.#watcher = watch(folder, {
      depth: 0,
      ignoreInitial: true,
      followSymlinks: false,
      ignored: onlyThese([folder], [this.#options.path]),
    });
    this.#watcher.on('all', (event, path) => {
      this.#options.logger.trace({ event, path }, 'config folder event');
      this.trigger('file change');
    });
    this.#watcher.on('error', (error: unknown) => {
      this.#options.logger.warn(
        { err: error },
        'watching the config folder failed; polling still runs',
      );
    });
    this.#poll = setInterval(() => {
      this.trigger('poll');
    }, this.#options.pollMs);
    this.#poll.unref();
  }

  /** Schedules a check (debounced). SIGHUP and the watcher both land here. */
  trigger(reason: string): void {
    if (this.#closed) {
      return;
    }
    this.#pendingReason ??= reason;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      const why = this.#pendingReason ?? reason;
      this.#pendingReason = undefined;
      // Checks run one at a time; a burst during a check becomes one more check. A failed
      // check must not break the chain, or no later change would ever be looked at.
      this.#checking = this.#checking
        .then(() => this.#check(why))
        .catch((error: unknown) => {
          this.#options.logger.error({ err: error, reason: why }, 'config check failed');
        });
    }, this.#options.debounceMs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#debounce);
    clearInterval(this.#poll);
    await this.#watcher?.close();
    await this.#checking;
  }

  async #check(reason: string): Promise<void> {
    const bytes = await this.#read();
    if (bytes === undefined || this.#closed) {
      return;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 === this.#options.currentSha256()) {
      this.#options.logger.debug({ reason }, 'config unchanged');
      return;
    }
    await this.#options.onChange(bytes, reason);
  }

  /**
   * Reads the file. During a swap the link can dangle for a moment, or `..data` can point at a
   * folder that lacks the file: that is retried, and a file still missing afterwards leaves the
   * running config in place. A vanished config is never taken as "no credentials".
   */
  async #read(): Promise<Buffer | undefined> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await readFile(this.#options.path);
      } catch (error) {
        const wait = MISSING_RETRIES_MS[attempt];
        if (wait === undefined || this.#closed) {
          this.#options.logger.warn(
            { path: this.#options.path, code: (error as NodeJS.ErrnoException).code },
            'config file is unreadable; keeping the running config',
          );
          return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}
