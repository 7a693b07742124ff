// How the issuance faults (lifetime, expSkew, clockSkew) bend the times written into issued
// credentials. Handlers compute what ZTS would issue and pass it through here, so the fault logic
// stays out of their upstream-shaped code paths; with no fault every function is the identity.

import type { DevZtsFault } from './types.js';

/** The issuance part of a request's fault; empty when none applies. */
export interface Issuance {
  /** Replaces the lifetime of whatever is issued. */
  lifetimeSec?: number;
  /** Shifts only the expiry written inside a token, not the one in the response. */
  expSkewSec?: number;
  /** Shifts the server's clock for everything issued. */
  clockSkewSec?: number;
}

export const NO_ISSUANCE_FAULT: Issuance = {};

export function issuanceOf(fault: DevZtsFault | undefined): Issuance {
  switch (fault?.kind) {
    case 'lifetime':
      return { lifetimeSec: fault.seconds };
    case 'expSkew':
      return { expSkewSec: fault.seconds };
    case 'clockSkew':
      return { clockSkewSec: fault.seconds };
    default:
      return NO_ISSUANCE_FAULT;
  }
}

export interface TokenTimes {
  /** Epoch seconds: `iat` / `t=`. */
  issuedAt: number;
  /** Epoch seconds written into the token: `exp` / `e=`. */
  tokenExpiry: number;
  /** Seconds the response says the token lives: `expires_in`. */
  lifetime: number;
  /** Epoch seconds the response says the token expires: `expiryTime`. */
  responseExpiry: number;
}

/** Times of a token ZTS would issue with `timeout` seconds to live. */
export function tokenTimes(issuance: Issuance, timeout: number, now = Date.now()): TokenTimes {
  const issuedAt = Math.floor(now / 1000) + (issuance.clockSkewSec ?? 0);
  const lifetime = issuance.lifetimeSec ?? timeout;
  return {
    issuedAt,
    tokenExpiry: issuedAt + lifetime + (issuance.expSkewSec ?? 0),
    lifetime,
    responseExpiry: issuedAt + lifetime,
  };
}

/** The signing time (ms) and lifetime (ms) of a cert ZTS would issue for `lifetimeMs`. */
export function certTimes(
  issuance: Issuance,
  lifetimeMs: number,
  now = Date.now(),
): { now: number; lifetimeMs: number } {
  return {
    now: now + (issuance.clockSkewSec ?? 0) * 1000,
    lifetimeMs: issuance.lifetimeSec === undefined ? lifetimeMs : issuance.lifetimeSec * 1000,
  };
}
