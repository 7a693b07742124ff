// What the ZTS client needs from an identity: a dispatcher (with or without a client certificate)
// and headers (an N-token, when that is how the agent authenticates), plus change notification so
// the agent can refresh credentials bound to the old identity.

import type { Dispatcher } from 'undici';

export interface ZtsConnection {
  dispatcher: Dispatcher;
  /** Extra request headers, e.g. Athenz-Principal-Auth. Never logged. */
  headers: Readonly<Record<string, string>>;
}

export type IdentityChange = 'loaded' | 'rotated';

export interface Identity {
  /** The Athenz principal (`<domain>.<service>`), once known. */
  principal(): string | undefined;
  /** The connection to use for the next request; throws IdentityError while unusable. */
  connection(): Promise<ZtsConnection>;
  /**
   * Called when the identity becomes usable (`loaded`) and when it changes from one usable
   * state to another (`rotated`: credentials bound to the old one should be refreshed).
   */
  onChange(listener: (change: IdentityChange) => void): void;
  /** Why the identity is not usable, or undefined when it is. */
  problem(): string | undefined;
  close(): Promise<void>;
}
