// What fetching any credential yields: the files to publish and the lifetime to schedule from.

import { readFile, stat } from 'node:fs/promises';

import type { FileToWrite } from '../output/atomic-write.js';

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
