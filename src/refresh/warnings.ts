// The warnings a refresher gives the operator once, rather than on every attempt: a ZTS clock
// that differs from ours, grants shorter than the refresh floor, and a credential about to
// expire while its refresh keeps failing.

import type { IssuedCredential } from '../credentials/issued.js';
import type { Logger } from '../logger.js';

/** A clock difference with ZTS worth telling the operator about. */
const SKEW_WARNING_MS = 60_000;

export class RefreshWarnings {
  readonly #name: string;
  readonly #logger: Logger;
  #skew = false;
  #shortLifetime = false;
  #expiring = false;

  constructor(name: string, logger: Logger) {
    this.#name = name;
    this.#logger = logger;
  }

  /** After each success: skew and short grants, once per credential. */
  issued(issued: IssuedCredential, floorMs: number): void {
    this.#expiring = false;
    if (Math.abs(issued.skewMs ?? 0) >= SKEW_WARNING_MS && !this.#skew) {
      // The expiry was already translated to our clock, so this is for the operator.
      this.#skew = true;
      this.#logger.warn(
        { credential: this.#name, skewMs: issued.skewMs },
        "ZTS's clock differs from this host's; expiry times are adjusted, but check NTP",
      );
    }
    if (issued.lifetimeMs <= floorMs && !this.#shortLifetime) {
      // ZTS (or a skewed clock) grants less than the floor. Refreshing faster would only load
      // ZTS; the floor holds and the credential may lapse briefly.
      this.#shortLifetime = true;
      this.#logger.warn(
        { credential: this.#name, lifetimeMs: issued.lifetimeMs, floorMs },
        'granted lifetime is not longer than refresh.floor; refreshing at the floor',
      );
    }
  }

  /**
   * After each failure: once per expiry, when the credential on disk enters its last tenth (or
   * last minute). Readiness turns only when it actually expires.
   */
  failing(current: IssuedCredential | undefined, now: number): void {
    if (current === undefined || this.#expiring) {
      return;
    }
    const remaining = current.expiresAt - now;
    if (remaining > 0 && remaining < Math.max(current.lifetimeMs / 10, 60_000)) {
      this.#expiring = true;
      this.#logger.warn(
        {
          credential: this.#name,
          expiresAt: new Date(current.expiresAt).toISOString(),
          remainingMs: remaining,
        },
        'credential on disk expires soon and refreshing it keeps failing',
      );
    }
  }
}
