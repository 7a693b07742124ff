// One refresher per credential: fetch, write, wait for the next refresh, repeat. Each runs its
// own loop with its own timer, backoff and status, so a credential that keeps failing never
// delays or triggers refetches of the others.

import { AgentError, isRetryable } from '../errors.js';
import type { CredentialSpec, RefreshPolicy } from '../config/types.js';
import type { IssuedCredential } from '../credentials/issued.js';
import type { Logger } from '../logger.js';
import type { FileToWrite, WriteOutcome } from '../output/atomic-write.js';
import type { CredentialStatus } from '../state/credential-status.js';
import { sleepUntil } from './sleep.js';
import { refreshDelay, retryDelay } from './timing.js';
import type { Random } from './timing.js';

export interface RefresherDeps {
  fetch(spec: CredentialSpec, signal: AbortSignal): Promise<IssuedCredential>;
  write(file: FileToWrite): Promise<WriteOutcome>;
  status: CredentialStatus;
  policy: RefreshPolicy;
  logger: Logger;
  random?: Random;
}

export class Refresher {
  readonly spec: CredentialSpec;
  readonly #deps: RefresherDeps;
  readonly #random: Random;
  readonly #stop = new AbortController();
  /** Fetched but not yet written: a failed write is retried without asking ZTS again. */
  #pending: IssuedCredential | undefined;
  #dueAt = 0;
  #loop: Promise<void> | undefined;
  #warnedShortLifetime = false;

  constructor(spec: CredentialSpec, deps: RefresherDeps) {
    this.spec = spec;
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
  }

  /** Starts the refresh loop; the first attempt is due at `firstAt` (default: now). */
  start(firstAt = Date.now()): void {
    this.#dueAt = firstAt;
    this.#loop ??= this.#run();
  }

  /**
   * Stops the loop. A ZTS request in flight is cancelled; a write in flight is finished, so no
   * temp file is left and the target holds a whole credential.
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
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
    const { logger } = this.#deps;
    if (this.#pending !== undefined && this.#pending.expiresAt <= Date.now()) {
      this.#pending = undefined;
    }
    const issued = this.#pending ?? (await this.#deps.fetch(this.spec, signal));
    this.#pending = issued;

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
    this.#pending = undefined;
    return issued;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      await sleepUntil(this.#dueAt, signal);
      if (stopped()) {
        break;
      }
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

  #scheduleAfterSuccess(issued: IssuedCredential): void {
    const { policy, status, logger } = this.#deps;
    const now = Date.now();
    const delay = refreshDelay(issued.lifetimeMs, policy, this.#random);
    this.#dueAt = issued.issuedAt + delay;
    if (this.#dueAt < now + policy.floorMs) {
      this.#dueAt = now + policy.floorMs;
    }
    if (issued.lifetimeMs <= policy.floorMs && !this.#warnedShortLifetime) {
      // Once per credential: ZTS (or a skewed clock) grants less than the floor. Refreshing
      // faster would only load ZTS; the floor holds and the credential may lapse briefly.
      this.#warnedShortLifetime = true;
      logger.warn(
        { credential: this.spec.name, lifetimeMs: issued.lifetimeMs, floorMs: policy.floorMs },
        'granted lifetime is not longer than refresh.floor; refreshing at the floor',
      );
    }
    status.succeeded(now, issued.expiresAt, this.#dueAt);
  }

  #scheduleAfterFailure(error: unknown): void {
    const { policy, status, logger } = this.#deps;
    const now = Date.now();
    const failures = status.consecutiveFailures + 1;
    const retryable = isRetryable(error);
    const delay = retryDelay(
      failures,
      retryable ? policy.backoff : policy.refusedBackoff,
      this.#random,
    );
    this.#dueAt = now + delay;
    status.failed(now, error, this.#dueAt);
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
