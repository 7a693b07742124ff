// What fetching any credential yields: the files to publish and the lifetime to schedule from.

import { readFile, stat } from 'node:fs/promises';

import type { FileToWrite } from '../output/atomic-write.js';
import { badResponse } from '../zts/client.js';

/** ZTS never grants more than 30 days (role_token_max_timeout, certsign_max_expiry_time). */
const MAX_LIFETIME_S = 30 * 86_400;
/** Clock skew tolerated between this host and ZTS when a credential says when it was issued. */
const MAX_SKEW_S = 3600;

export interface IssuedCredential {
  files: FileToWrite[];
  /** When the credential stops being valid, as it states itself (JWT exp, expiryTime), in ms. */
  expiresAt: number;
  /** When it was requested (local clock), the start of the granted lifetime. */
  issuedAt: number;
  /** The granted lifetime as seen from here, in ms: what refresh timing is based on. */
  lifetimeMs: number;
  /** Safe, loggable facts (granted roles, serials); never the credential itself. */
  details: Record<string, unknown>;
}

/**
 * Checks a credential's own issue and expiry times (epoch seconds): present, unexpired, not
 * issued far in the future and not valid longer than ZTS ever grants. Beyond protecting the
 * files, this keeps absurd values (past JavaScript's date range) out of the scheduler.
 */
export function checkValidity(
  what: string,
  name: string,
  issuedAt: unknown,
  expiresAt: unknown,
  now: number,
): void {
  const nowS = now / 1000;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    throw badResponse(what, `${name} has no usable expiry time`);
  }
  if (expiresAt <= nowS) {
    throw badResponse(what, `${name} expired at ${isoSeconds(expiresAt)}`);
  }
  if (expiresAt > nowS + MAX_LIFETIME_S + MAX_SKEW_S) {
    throw badResponse(
      what,
      `${name} claims to be valid until ${isoSeconds(expiresAt)}, beyond ZTS's 30-day maximum`,
    );
  }
  if (issuedAt !== undefined) {
    if (typeof issuedAt !== 'number' || !Number.isFinite(issuedAt)) {
      throw badResponse(what, `${name} has an unusable issue time`);
    }
    if (issuedAt > nowS + MAX_SKEW_S) {
      throw badResponse(
        what,
        `${name} claims to be issued at ${isoSeconds(issuedAt)}, more than an hour from now`,
      );
    }
  }
}

function isoSeconds(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

/** The granted lifetime: the shorter of what ZTS said (relative) and what the token says. */
export function grantedLifetime(requestedAt: number, expiresAt: number, statedMs?: number): number {
  const remaining = expiresAt - requestedAt;
  return statedMs === undefined ? remaining : Math.min(remaining, statedMs);
}

/**
 * A credential read back from disk: issued when its main file was last written (the best local
 * estimate), valid until it says. Undefined when already expired.
 */
export async function restoredCredential(
  files: FileToWrite[],
  expiresAt: number,
  details: Record<string, unknown>,
  now = Date.now(),
): Promise<IssuedCredential | undefined> {
  if (expiresAt <= now || files.length === 0) {
    return undefined;
  }
  const written = Math.min(
    ...(await Promise.all(files.map(async (file) => (await stat(file.path)).mtimeMs))),
  );
  const issuedAt = Math.min(written, now);
  return { files, expiresAt, issuedAt, lifetimeMs: expiresAt - issuedAt, details };
}

/** Reads a file as text, or undefined when it is absent or unreadable. */
export async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}
