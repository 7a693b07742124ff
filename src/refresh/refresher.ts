// One refresher per credential: restore or fetch, write, wait for the next refresh, repeat. Each
// runs its own loop with its own timer, backoff and status, so a credential that keeps failing
// never delays or triggers refetches of the others.

import type { RefreshPolicy } from '../config/types.js';
import type { Credential } from '../credentials/credential.js';
import type { IssuedCredential } from '../credentials/issued.js';
import { AgentError, WriteError, ZtsError, isRetryable } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FileToWrite, WriteOutcome } from '../output/atomic-write.js';
import type { CredentialStatus } from '../state/credential-status.js';
import { sleepUntil } from './sleep.js';
import { RefreshWarnings } from './warnings.js';
import { refreshDelay, retryDelay } from './timing.js';
import type { Random } from './timing.js';

/** Before the first success, retries of transient faults stay this short for this long. */
const STARTUP_MAX_DELAY_MS = 2000;
const STARTUP_WINDOW_MS = 60_000;

export interface RefresherDeps {
  credential: Credential;
  write(file: FileToWrite): Promise<WriteOutcome>;
  status: CredentialStatus;
  policy: RefreshPolicy;
  logger: Logger;
  random?: Random;
}

export class Refresher {
  readonly #deps: RefresherDeps;
  readonly #random: Random;
  readonly #stop = new AbortController();
  /** Aborted to cut the current wait short (see kick). */
  #wake = new AbortController();
  /** A kick arrived during an attempt: refresh again as soon as it ends. */
  #kicked = false;
  /** Fetched but not yet written: a failed write is retried without asking ZTS again. */
  #pending: IssuedCredential | undefined;
  /** The credential on disk, as last written or restored. */
  #current: IssuedCredential | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dueAt = 0;
  #loop: Promise<void> | undefined;
  readonly #warnings: RefreshWarnings;
  readonly #startedAt = Date.now();

  constructor(deps: RefresherDeps) {
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
    this.#warnings = new RefreshWarnings(deps.credential.spec.name, deps.logger);
  }

  get spec() {
    return this.#deps.credential.spec;
  }

  /**
   * Starts the loop. What a previous run left on disk is restored first: a credential that is
   * still good is not fetched again until its refresh is due.
   */
  start(options: { restore?: boolean; rewrite?: boolean; fetchNow?: boolean } = {}): void {
    this.#loop ??= this.#run(options);
  }

  /** Refresh now (e.g. the identity changed), whatever the schedule says. */
  kick(): void {
    this.#kicked = true;
    this.#dueAt = Date.now();
    this.#wake.abort();
  }

  /**
   * Stops the loop. A ZTS request in flight is cancelled; a write in flight is finished, so no
   * temp file is left and the target holds a whole credential.
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    await this.#writing;
  }

  /** One attempt: fetch (unless a fetched credential still waits to be written), then write. */
  async attempt(signal: AbortSignal = this.#stop.signal): Promise<IssuedCredential> {
    const { status } = this.#deps;
    status.started(Date.now());
    try {
      return await this.#fetchAndWrite(signal);
    } finally {
      status.busySince = undefined;
    }
  }

  async #fetchAndWrite(signal: AbortSignal): Promise<IssuedCredential> {
    if (this.#pending !== undefined && this.#pending.expiresAt <= Date.now()) {
      this.#pending = undefined;
    }
    const issued = this.#pending ?? (await this.#deps.credential.fetch(signal));
    this.#checkNotWorse(issued);
    this.#pending = issued;

    try {
      await this.#exclusive(() => this.#writeAll(issued));
    } catch (error) {
      // Only a failed write is worth retrying with the same credential; anything else
      // (a bug, a bad value) must not pin this credential forever.
      if (!(error instanceof WriteError)) {
        this.#pending = undefined;
      }
      throw error;
    }
    this.#pending = undefined;
    this.#current = issued;
    return issued;
  }

  /**
   * Writes the credential on disk again when one of its files went missing (deleted by hand),
   * without asking ZTS: readiness calls this when it finds a file gone.
   */
  async repair(): Promise<void> {
    const current = this.#current;
    if (current === undefined || current.expiresAt <= Date.now()) {
      return;
    }
    await this.#exclusive(async () => {
      // A refresh may have replaced it meanwhile; never write an older credential back.
      if (this.#current === current) {
        await this.#writeAll(current);
      }
    });
  }

  /** Runs writes one at a time, so a repair and a refresh never write the same file at once. */
  async #exclusive(work: () => Promise<void>): Promise<void> {
    const run = this.#writing.then(work);
    this.#writing = run.catch(() => undefined);
    await run;
  }

  async #writeAll(issued: IssuedCredential): Promise<void> {
    const { logger } = this.#deps;
    for (const file of issued.files) {
      const outcome = await this.#deps.write(file);
      const facts = {
        credential: this.spec.name,
        path: file.path,
        bytes: file.content.length,
        expiresAt: new Date(issued.expiresAt).toISOString(),
      };
      if (outcome === 'written') {
        logger.info(facts, 'credential written');
      } else {
        logger.debug(facts, 'credential unchanged; file left alone');
      }
    }
  }

  async #run(options: { restore?: boolean; rewrite?: boolean; fetchNow?: boolean }): Promise<void> {
    const signal = this.#stop.signal;
    const stopped = (): boolean => signal.aborted;
    this.#dueAt = Date.now();
    if (options.restore ?? true) {
      await this.#restore(options.rewrite ?? false, options.fetchNow === true);
    }
    if (options.fetchNow === true) {
      // The file on disk (if it still fits) keeps readiness up while the new one is fetched.
      this.#dueAt = Date.now();
    }
    while (!stopped()) {
      this.#wake = new AbortController();
      await sleepUntil(this.#dueAt, AbortSignal.any([signal, this.#wake.signal]));
      if (stopped()) {
        break;
      }
      this.#kicked = false;
      try {
        const issued = await this.attempt(signal);
        this.#scheduleAfterSuccess(issued);
      } catch (error) {
        if (stopped()) {
          break;
        }
        this.#scheduleAfterFailure(error);
      }
    }
  }

  /** Adopts what is on disk; with `rewrite`, puts the configured modes and group back on it. */
  async #restore(rewrite: boolean, fetchingAnyway: boolean): Promise<void> {
    const restored = await this.#deps.credential.restore().catch(() => undefined);
    if (restored === undefined) {
      return;
    }
    this.#current = restored;
    if (rewrite) {
      try {
        for (const file of restored.files) {
          await this.#deps.write(file);
        }
      } catch {
        // The loop fetches and writes afresh, with retries, when the files cannot be adopted.
        return;
      }
    }
    this.#scheduleAfterSuccess(restored);
    if (fetchingAnyway) {
      return;
    }
    const due = this.#dueAt <= Date.now();
    this.#deps.logger.info(
      {
        credential: this.spec.name,
        expiresAt: new Date(restored.expiresAt).toISOString(),
        nextRefreshAt: new Date(this.#dueAt).toISOString(),
      },
      due
        ? 'credential on disk is valid but due for refresh; fetching it now'
        : 'credential on disk is still good; not fetching it now',
    );
  }

  /**
   * For `once` mode: adopts what is on disk when it is valid and its refresh is not yet due
   * (counting no jitter), so an init container that runs again does not ask ZTS needlessly.
   */
  async adoptIfFresh(): Promise<IssuedCredential | undefined> {
    const restored = await this.#deps.credential.restore().catch(() => undefined);
    if (restored === undefined) {
      return undefined;
    }
    const due = restored.issuedAt + refreshDelay(restored.lifetimeMs, this.#deps.policy, () => 0);
    if (due <= Date.now()) {
      return undefined;
    }
    this.#current = restored;
    return restored;
  }

  /**
   * A fetched credential that would expire before the refresh floor while the one on disk lives
   * longer is not written: replacing a good credential with a dying one helps nobody.
   */
  #checkNotWorse(issued: IssuedCredential): void {
    const current = this.#current;
    if (
      current !== undefined &&
      current.expiresAt > issued.expiresAt &&
      issued.expiresAt - Date.now() < this.#deps.policy.floorMs
    ) {
      throw new ZtsError(
        'ZTS_BAD_RESPONSE',
        `the new credential expires at ${new Date(issued.expiresAt).toISOString()}, sooner than the refresh floor and than the one on disk; keeping that one`,
        { retryable: true },
      );
    }
  }

  #scheduleAfterSuccess(issued: IssuedCredential): void {
    const { policy, status } = this.#deps;
    const now = Date.now();
    const delay = refreshDelay(issued.lifetimeMs, policy, this.#random);
    // The delay is at least the floor, counted from the fetch; a credential restored from disk
    // whose refresh time has already passed is refreshed at once.
    this.#dueAt = Math.max(issued.issuedAt + delay, now);
    if (this.#kicked) {
      this.#dueAt = now;
    }
    this.#warnings.issued(issued, policy.floorMs);
    status.succeeded(now, issued.expiresAt, this.#dueAt);
  }

  #scheduleAfterFailure(error: unknown): void {
    const { policy, status, logger } = this.#deps;
    const now = Date.now();
    const failures = status.consecutiveFailures + 1;
    const retryable = isRetryable(error);
    let backoff = retryable ? policy.backoff : policy.refusedBackoff;
    if (retryable && this.#current === undefined && now - this.#startedAt < STARTUP_WINDOW_MS) {
      // Starting up with nothing on disk (the network or a mesh proxy may not be ready yet):
      // keep retries short for a while, so the first files land soon after ZTS answers.
      backoff = {
        initialMs: backoff.initialMs,
        maxMs: Math.min(backoff.maxMs, STARTUP_MAX_DELAY_MS),
      };
    }
    const delay = retryDelay(failures, backoff, this.#random);
    this.#dueAt = now + delay;
    status.failed(now, error, this.#dueAt);
    this.#warnings.failing(this.#current, now);
    logger.warn(
      {
        credential: this.spec.name,
        code: error instanceof AgentError ? error.code : 'INTERNAL',
        status: (error as { status?: number }).status,
        failures,
        retryInMs: delay,
        ...(error instanceof AgentError ? {} : { err: error }),
      },
      error instanceof Error ? error.message : 'attempt failed',
    );
  }
}
