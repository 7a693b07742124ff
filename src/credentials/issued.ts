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
  /** How far ZTS's clock was off when this was issued, when measurable (ms). */
  skewMs?: number;
}

export interface Validity {
  /** Expiry on the local clock, in ms. */
  expiresAt: number;
  /** How far ZTS's clock is ahead of ours (negative: behind), in ms; 0 when not measurable. */
  skewMs: number;
}

/**
 * Checks a credential's own issue and expiry times (epoch seconds) and translates the expiry to
 * the local clock. When the credential says when it was issued and that differs from when we
 * asked, ZTS's clock is off: the expiry is shifted by the same amount, so a skewed ZTS neither
 * makes a good token look expired (a refresh loop) nor lets an expired one look good.
 * Refused: no usable expiry, already expired, issued more than an hour off our clock, valid
 * longer than ZTS ever grants (this also keeps values past JavaScript's date range out).
 */
export function checkValidity(
  what: string,
  name: string,
  times: { issuedAtS?: unknown; expiresAtS: unknown },
  window: { requestedAt: number; receivedAt: number },
): Validity {
  const { issuedAtS, expiresAtS } = times;
  if (typeof expiresAtS !== 'number' || !Number.isFinite(expiresAtS)) {
    throw badResponse(what, `${name} has no usable expiry time`);
  }
  let skewMs = 0;
  if (issuedAtS !== undefined) {
    if (typeof issuedAtS !== 'number' || !Number.isFinite(issuedAtS)) {
      throw badResponse(what, `${name} has an unusable issue time`);
    }
    // Issue times have whole seconds, so a token issued while we waited may show up to a second
    // before the request; anything further out is a clock difference.
    const issuedMs = issuedAtS * 1000;
    if (issuedMs < window.requestedAt - 2000 || issuedMs > window.receivedAt + 1000) {
      skewMs = issuedMs - window.requestedAt;
    }
    if (Math.abs(skewMs) > MAX_SKEW_S * 1000) {
      throw badResponse(
        what,
        `${name} claims to be issued at ${isoSeconds(issuedAtS)}, more than an hour off our clock`,
      );
    }
  }
  const expiresAt = expiresAtS * 1000 - skewMs;
  if (expiresAt <= window.receivedAt) {
    throw badResponse(what, `${name} expired at ${isoSeconds(expiresAtS)}`);
  }
  if (expiresAt > window.receivedAt + (MAX_LIFETIME_S + MAX_SKEW_S) * 1000) {
    throw badResponse(
      what,
      `${name} claims to be valid until ${isoSeconds(expiresAtS)}, beyond ZTS's 30-day maximum`,
    );
  }
  return { expiresAt, skewMs };
}

function isoSeconds(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

/**
 * Refuses a credential carrying roles that were not asked for. ZTS may grant fewer roles than
 * asked (the caller holds fewer); that credential is still useful and passes.
 */
export function checkRequestedRoles(
  what: string,
  name: string,
  requested: readonly string[] | undefined,
  granted: readonly string[],
): void {
  const extra = requested === undefined ? [] : granted.filter((role) => !requested.includes(role));
  if (extra.length > 0) {
    throw badResponse(what, `${name} carries roles that were not requested: ${extra.join(', ')}`);
  }
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
