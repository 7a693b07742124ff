// What the agent knows about each credential: last success, expiry, last error, what it is doing
// now. Refreshers write it; the health server and `once` mode read it.

import { AgentError, ZtsError } from '../errors.js';
import type { CredentialSpec } from '../config/types.js';

export interface LastError {
  code: string;
  status: number | undefined;
  message: string;
  at: number;
}

export class CredentialStatus {
  readonly id: string;
  readonly name: string;
  readonly files: readonly string[];
  /** Expiry of the credential on disk (ms), undefined until one was written or found. */
  expiresAt: number | undefined;
  lastSuccessAt: number | undefined;
  lastError: LastError | undefined;
  consecutiveFailures = 0;
  nextAttemptAt: number | undefined;
  /** Set while an attempt runs; liveness flags attempts that never end. */
  busySince: number | undefined;

  constructor(spec: CredentialSpec, files: readonly string[]) {
    this.id = spec.id;
    this.name = spec.name;
    this.files = files;
  }

  started(now: number): void {
    this.busySince = now;
  }

  succeeded(now: number, expiresAt: number, nextAttemptAt: number | undefined): void {
    this.expiresAt = expiresAt;
    this.lastSuccessAt = now;
    this.lastError = undefined;
    this.consecutiveFailures = 0;
    this.nextAttemptAt = nextAttemptAt;
  }

  failed(now: number, error: unknown, nextAttemptAt: number | undefined): void {
    this.consecutiveFailures += 1;
    this.nextAttemptAt = nextAttemptAt;
    this.lastError = {
      code: error instanceof AgentError ? error.code : 'INTERNAL',
      status: error instanceof ZtsError ? error.status : undefined,
      message: error instanceof Error ? error.message : String(error),
      at: now,
    };
  }

  /** Ready means on disk and not expired; a failing refresh of a valid credential is still ready. */
  state(now: number): 'fresh' | 'failing' | 'missing' | 'stale' {
    if (this.expiresAt === undefined) {
      return 'missing';
    }
    if (this.expiresAt <= now) {
      return 'stale';
    }
    return this.lastError === undefined ? 'fresh' : 'failing';
  }
}
