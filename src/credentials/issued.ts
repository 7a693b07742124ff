// What fetching any credential yields: the files to publish and the lifetime to schedule from.

import type { FileToWrite } from '../output/atomic-write.js';

export interface IssuedCredential {
  files: FileToWrite[];
  /** When the credential stops being valid, as it states itself (JWT exp, expiryTime), in ms. */
  expiresAt: number;
  /** When it was requested (local clock), the start of the granted lifetime. */
  issuedAt: number;
  /** The granted lifetime as seen from here, in ms: what refresh timing is based on. */
  lifetimeMs: number;
  /** Safe, loggable facts (granted roles, sizes); never the credential itself. */
  details: Record<string, unknown>;
}

/** The granted lifetime: the shorter of what ZTS said (relative) and what the token says. */
export function grantedLifetime(requestedAt: number, expiresAt: number, statedMs?: number): number {
  const remaining = expiresAt - requestedAt;
  return statedMs === undefined ? remaining : Math.min(remaining, statedMs);
}
