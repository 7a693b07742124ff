// The agent: turns a resolved config into running refreshers that share one runtime (identity
// and ZTS client), applies new configs by reconciling, and tears everything down again. Run
// modes (`run`, `once`) drive it from the CLI.

import { mkdir, realpath, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import type { CredentialSpec, ResolvedConfig } from '../config/types.js';
import { AgentError, describeCause } from '../errors.js';
import { createCredential } from '../credentials/create.js';
import type { IdentityChange } from '../identity/identity.js';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from '../output/atomic-write.js';
import type { FileToWrite, WriteOutcome } from '../output/atomic-write.js';
import { sweepTempFiles } from '../output/sweep.js';
import { Refresher } from '../refresh/refresher.js';
import type { Random } from '../refresh/timing.js';
import { CredentialStatus } from '../state/credential-status.js';
import { StatusBoard } from '../state/status-board.js';
import { planReconcile } from './reconcile.js';
import type { ReconcilePlan, StartMode } from './reconcile.js';
import { buildRuntime, runtimeKey } from './runtime.js';
import type { Runtime } from './runtime.js';

/** A file's path with its folder's symlinks resolved (the file itself may not exist). */
async function realFile(path: string): Promise<string> {
  try {
    return join(await realpath(dirname(path)), basename(path));
  } catch {
    return path;
  }
}

export interface AgentOptions {
  logger: Logger;
  /** Random source for jitter; tests pin it. */
  random?: Random;
  /** The file writer; tests wrap the real one to watch writes. */
  write?: (file: FileToWrite) => Promise<WriteOutcome>;
}

interface Entry {
  spec: CredentialSpec;
  refresher: Refresher;
}

/** Kinds that maintain the identity itself: an identity change must not re-trigger them. */
const IDENTITY_KINDS = new Set<CredentialSpec['kind']>(['instance', 'ntoken']);

export class Agent {
  readonly board = new StatusBoard();
  readonly #logger: Logger;
  readonly #random: Random | undefined;
  readonly #write: (file: FileToWrite) => Promise<WriteOutcome>;
  readonly #entries = new Map<string, Entry>();
  #config: ResolvedConfig;
  #runtime: Runtime;
  #started = false;
  /** Reloads run one at a time, in arrival order. */
  #applying: Promise<unknown> = Promise.resolve();

  constructor(config: ResolvedConfig, options: AgentOptions) {
    this.#config = config;
    this.#logger = options.logger;
    this.#random = options.random;
    this.#write = options.write ?? writeFileAtomic;
    this.#runtime = this.#buildRuntime(config);
    this.board.onMissingFile((id) => {
      this.#entries
        .get(id)
        ?.refresher.repair()
        .catch((error: unknown) => {
          this.#logger.warn({ err: error, id }, 'could not write a missing credential file again');
        });
    });
    for (const spec of config.credentials) {
      this.#entries.set(spec.id, this.#entry(spec));
    }
  }

  get config(): ResolvedConfig {
    return this.#config;
  }

  /** Every refresher, in config order. */
  get refreshers(): Refresher[] {
    return [...this.#entries.values()].map((entry) => entry.refresher);
  }

  /** Makes the output directory ready: created if absent, leftovers of a killed run removed. */
  async prepare(): Promise<void> {
    await mkdir(this.#config.output.dir, { recursive: true });
    const removed = await sweepTempFiles(this.#config.output.dir);
    if (removed > 0) {
      this.#logger.info({ dir: this.#config.output.dir, removed }, 'removed leftover temp files');
    }
  }

  /** Starts watching the identity and refreshing every credential. */
  start(): void {
    this.#started = true;
    this.#runtime.fileIdentity?.watch();
    for (const entry of this.#entries.values()) {
      entry.refresher.start();
    }
    this.#logger.info(
      {
        credentials: this.#entries.size,
        identity: this.#config.identity.source,
        outputDir: this.#config.output.dir,
        zts: this.#config.zts.url,
      },
      'agent started',
    );
  }

  /**
   * Applies a new config: starts what is new, refetches or rewrites what changed, stops what was
   * removed (deleting its files) and leaves the rest alone. Reloads are serialised, and a
   * credential's old refresher has finished (its write included) before its new one starts, so
   * one file never has two writers and an older token never overwrites a newer one.
   */
  apply(next: ResolvedConfig): Promise<ReconcilePlan> {
    const run = this.#applying.then(() => this.#apply(next));
    this.#applying = run.catch(() => undefined);
    return run;
  }

  /** Stops every refresher (finishing writes in flight) and closes ZTS connections. */
  async stop(): Promise<void> {
    await this.#applying;
    await Promise.all([...this.#entries.values()].map((entry) => entry.refresher.stop()));
    await this.#runtime.close();
  }

  async #apply(next: ResolvedConfig): Promise<ReconcilePlan> {
    const previous = this.#config;
    const runtimeChanged = runtimeKey(previous) !== runtimeKey(next);
    const refreshPolicyChanged = JSON.stringify(previous.refresh) !== JSON.stringify(next.refresh);
    const running = new Map([...this.#entries].map(([id, entry]) => [id, entry.spec]));
    const plan = planReconcile(running, next.credentials, {
      runtime: runtimeChanged,
      refreshPolicy: refreshPolicyChanged,
    });

    // What can fail without harm goes first: a new output folder that cannot be made leaves the
    // running config untouched.
    try {
      await mkdir(next.output.dir, { recursive: true });
    } catch (error) {
      throw new AgentError(
        'CONFIG_UNUSABLE',
        `output.dir ${next.output.dir} cannot be used: ${describeCause(error)}`,
        { cause: error },
      );
    }

    // Stop everything that goes away or changes before anything new starts.
    const leaving = [...plan.remove, ...plan.replace.map(({ spec }) => spec)];
    await Promise.all(
      leaving.map((spec) => this.#entries.get(spec.id)?.refresher.stop() ?? Promise.resolve()),
    );
    this.#config = next;
    if (runtimeChanged) {
      await this.#runtime.close();
      this.#runtime = this.#buildRuntime(next);
      if (this.#started) {
        this.#runtime.fileIdentity?.watch();
      }
    }
    // Compared by real path: a new output.dir may be the old one under another name (a link).
    const stillWritten = new Set(
      await Promise.all(next.credentials.flatMap((spec) => spec.files).map(realFile)),
    );
    for (const spec of plan.remove) {
      this.#entries.delete(spec.id);
      this.board.delete(spec.id);
      await this.#deleteFiles(spec, stillWritten);
    }
    for (const { spec, mode } of plan.replace) {
      this.#replace(spec, mode);
    }
    for (const spec of plan.add) {
      this.#replace(spec, 'restore');
    }

    this.#logger.info(
      {
        added: plan.add.map((spec) => spec.name),
        removed: plan.remove.map((spec) => spec.name),
        changed: plan.replace.map(({ spec, mode }) => `${spec.name} (${mode})`),
        unchanged: plan.keep.length,
        runtimeRebuilt: runtimeChanged,
      },
      'config applied',
    );
    return plan;
  }

  #replace(spec: CredentialSpec, mode: StartMode): void {
    const entry = this.#entry(spec);
    this.#entries.set(spec.id, entry);
    if (this.#started) {
      entry.refresher.start({ rewrite: mode === 'rewrite', fetchNow: mode === 'refetch' });
    }
  }

  async #deleteFiles(spec: CredentialSpec, stillWritten: ReadonlySet<string>): Promise<void> {
    for (const file of spec.files) {
      if (stillWritten.has(await realFile(file))) {
        continue;
      }
      try {
        await unlink(file);
        this.#logger.info(
          { credential: spec.name, path: file },
          'credential removed from config; file deleted',
        );
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.#logger.warn(
            { credential: spec.name, path: file, err: error },
            'could not delete the file of a removed credential',
          );
        }
      }
    }
  }

  #entry(spec: CredentialSpec): Entry {
    const status = new CredentialStatus(spec, spec.files);
    this.board.add(status);
    const refresher = new Refresher({
      credential: createCredential(spec, this.#runtime.context),
      write: this.#write,
      status,
      policy: this.#config.refresh,
      logger: this.#logger.child({ module: 'refresh' }),
      ...(this.#random === undefined ? {} : { random: this.#random }),
    });
    return { spec, refresher };
  }

  #buildRuntime(config: ResolvedConfig): Runtime {
    const runtime = buildRuntime(config, this.#logger);
    runtime.identity.onChange((change) => {
      // A runtime replaced by a reload may still report; only the current one counts.
      if (runtime === this.#runtime) {
        this.#onIdentityChange(change);
      }
    });
    this.board.setProblem('identity', () => runtime.identity.problem());
    return runtime;
  }

  /**
   * A rotated identity refreshes every credential it authenticated: access tokens fetched over
   * mTLS are bound to the old certificate (`cnf`). A newly usable identity wakes the credentials
   * that were waiting for it.
   */
  #onIdentityChange(change: IdentityChange): void {
    for (const entry of this.#entries.values()) {
      if (IDENTITY_KINDS.has(entry.spec.kind)) {
        continue;
      }
      const waiting = this.board.get(entry.spec.id)?.lastError?.code === 'IDENTITY_UNAVAILABLE';
      if (change === 'rotated' || waiting) {
        entry.refresher.kick();
      }
    }
  }
}
