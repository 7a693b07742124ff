// The set of credential statuses and the verdicts built from them: readiness (every credential
// on disk and unexpired) and liveness (no attempt stuck far past any timeout).

import { stat } from 'node:fs/promises';

import type { CredentialStatus } from './credential-status.js';

export interface CredentialReport {
  name: string;
  state: 'fresh' | 'failing' | 'missing' | 'stale';
  files: readonly string[];
  expiresAt?: string;
  lastSuccessAt?: string;
  nextAttemptAt?: string;
  consecutiveFailures?: number;
  lastError?: { code: string; status?: number; message: string; at: string };
}

export interface ReadinessReport {
  ready: boolean;
  credentials: CredentialReport[];
  /** Problems that are not one credential's and make the agent not ready (the identity). */
  problems: string[];
  /** Facts that do not affect readiness, e.g. config reloads applied and rejected. */
  [section: string]: unknown;
}

export class StatusBoard {
  readonly #statuses = new Map<string, CredentialStatus>();
  readonly #problems = new Map<string, string | (() => string | undefined)>();
  readonly #sections = new Map<string, () => unknown>();
  #repair: ((id: string) => void) | undefined;

  /** Called with a credential's id when readiness finds one of its files gone. */
  onMissingFile(repair: (id: string) => void): void {
    this.#repair = repair;
  }

  add(status: CredentialStatus): void {
    this.#statuses.set(status.id, status);
  }

  delete(id: string): void {
    this.#statuses.delete(id);
  }

  get(id: string): CredentialStatus | undefined {
    return this.#statuses.get(id);
  }

  all(): CredentialStatus[] {
    return [...this.#statuses.values()];
  }

  /**
   * Records (or, with undefined, clears) an agent-wide problem that makes it not ready. A
   * function is asked at each readiness check.
   */
  setProblem(key: string, message: string | (() => string | undefined) | undefined): void {
    if (message === undefined) {
      this.#problems.delete(key);
    } else {
      this.#problems.set(key, message);
    }
  }

  /** Adds a section to the readiness JSON that does not affect the verdict. */
  setSection(name: string, read: () => unknown): void {
    this.#sections.set(name, read);
  }

  /** Readiness, checking that each credential's files are really on disk. */
  async readiness(now: number): Promise<ReadinessReport> {
    const credentials = await Promise.all(
      this.all().map((status) => report(status, now, this.#repair)),
    );
    const problems = [...this.#problems.values()].flatMap((entry) => {
      const message = typeof entry === 'function' ? entry() : entry;
      return message === undefined ? [] : [message];
    });
    const ready =
      problems.length === 0 &&
      credentials.every((entry) => entry.state === 'fresh' || entry.state === 'failing');
    const sections = Object.fromEntries([...this.#sections].map(([name, read]) => [name, read()]));
    return { ready, credentials, problems, ...sections };
  }

  /** Attempts that have been running longer than `stuckAfterMs`: a hung loop, not an outage. */
  stuck(now: number, stuckAfterMs: number): string[] {
    return this.all()
      .filter((status) => status.busySince !== undefined && now - status.busySince > stuckAfterMs)
      .map((status) => status.name);
  }
}

async function report(
  status: CredentialStatus,
  now: number,
  repair: ((id: string) => void) | undefined,
): Promise<CredentialReport> {
  let state = status.state(now);
  if (state === 'fresh' || state === 'failing') {
    const present = await Promise.all(status.files.map((file) => isRegularFile(file)));
    if (!present.every(Boolean)) {
      state = 'missing';
      repair?.(status.id);
    }
  }
  const iso = (ms: number | undefined): string | undefined =>
    ms === undefined ? undefined : new Date(ms).toISOString();
  const error = status.lastError;
  return {
    name: status.name,
    state,
    files: status.files,
    ...(status.expiresAt === undefined ? {} : { expiresAt: iso(status.expiresAt) }),
    ...(status.lastSuccessAt === undefined ? {} : { lastSuccessAt: iso(status.lastSuccessAt) }),
    ...(status.nextAttemptAt === undefined ? {} : { nextAttemptAt: iso(status.nextAttemptAt) }),
    ...(status.consecutiveFailures === 0
      ? {}
      : { consecutiveFailures: status.consecutiveFailures }),
    ...(error === undefined
      ? {}
      : {
          lastError: {
            code: error.code,
            ...(error.status === undefined ? {} : { status: error.status }),
            message: error.message,
            at: new Date(error.at).toISOString(),
          },
        }),
  };
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
