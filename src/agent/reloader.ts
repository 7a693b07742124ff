// Hot reload: a changed config file (a ConfigMap edit, or SIGHUP) goes through the same checks as
// at start. A valid one is applied by reconciling; an invalid one is rejected with one clear
// error, counted and shown on /readyz, and the running config stays. Readiness itself does not
// change for a rejected edit: one typo in a shared ConfigMap must not take every pod out of
// service while their credentials are fine.

import { parseConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { ConfigWatcher } from '../config/watch.js';
import { ConfigError, describeCause } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Agent } from './agent.js';

export interface ReloadStats {
  path: string;
  sha256: string;
  applied: number;
  rejected: number;
  lastRejected?: { at: string; sha256: string; issues: readonly string[] };
}

export class ConfigReloader {
  readonly #agent: Agent;
  readonly #logger: Logger;
  readonly #onApplied: (config: ResolvedConfig) => Promise<void>;
  readonly #watcher: ConfigWatcher;
  readonly #stats: ReloadStats;
  /** The last content looked at, applied or rejected: a rejected edit is reported once. */
  #seenSha256: string;

  constructor(options: {
    agent: Agent;
    logger: Logger;
    onApplied?: (config: ResolvedConfig) => Promise<void>;
  }) {
    this.#agent = options.agent;
    this.#logger = options.logger;
    this.#onApplied = options.onApplied ?? (() => Promise.resolve());
    const { path, sha256 } = options.agent.config.source;
    this.#seenSha256 = sha256;
    this.#stats = { path, sha256, applied: 0, rejected: 0 };
    const { reload } = options.agent.config;
    this.#watcher = new ConfigWatcher({
      path,
      currentSha256: () => this.#seenSha256,
      onChange: (bytes, reason) => this.#reload(bytes, reason),
      logger: options.logger,
      watch: reload.watch,
      pollMs: reload.intervalMs,
      debounceMs: reload.debounceMs,
    });
    options.agent.board.setSection('config', () => ({ ...this.#stats }));
  }

  get stats(): Readonly<ReloadStats> {
    return this.#stats;
  }

  start(): void {
    this.#watcher.start();
  }

  /** Checks the file now (debounced), e.g. on SIGHUP. */
  trigger(reason: string): void {
    this.#watcher.trigger(reason);
  }

  close(): Promise<void> {
    return this.#watcher.close();
  }

  async #reload(bytes: Buffer, reason: string): Promise<void> {
    const path = this.#stats.path;
    let next: ResolvedConfig;
    try {
      next = parseConfig(bytes, path);
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw error;
      }
      this.#reject(error.sha256 ?? '', error.issues, reason, error.code);
      return;
    }
    this.#seenSha256 = next.source.sha256;
    try {
      await this.#agent.apply(next);
    } catch (error) {
      // Valid, but not usable here (e.g. an output folder that cannot be created): nothing was
      // changed, so the running config stays, as for an invalid one.
      this.#reject(next.source.sha256, [describeCause(error)], reason, 'CONFIG_UNUSABLE');
      return;
    }
    this.#stats.applied += 1;
    this.#stats.sha256 = next.source.sha256;
    delete this.#stats.lastRejected;
    try {
      await this.#onApplied(next);
    } catch (error) {
      this.#logger.error({ err: error }, 'config applied, but a follow-up step failed');
    }
  }

  #reject(sha256: string, issues: readonly string[], reason: string, code: string): void {
    this.#seenSha256 = sha256;
    this.#stats.rejected += 1;
    this.#stats.lastRejected = { at: new Date().toISOString(), sha256, issues };
    this.#logger.error(
      { code, issues, config: this.#stats.path, reason },
      `config reload rejected, keeping the running config: ${issues[0] ?? code}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
    );
  }
}
