// The contract every credential kind fulfils: fetch a fresh one, or restore the one already on
// disk after a restart. Refreshers drive it; they know nothing about the kinds.

import type { CredentialSpec } from '../config/types.js';
import type { FileIdentity } from '../identity/file-identity.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../logger.js';
import type { ZtsClient } from '../zts/client.js';
import type { IssuedCredential } from './issued.js';

export interface Credential {
  readonly spec: CredentialSpec;
  /** Gets a new credential (from ZTS, or signed locally for N-tokens). Never writes files. */
  fetch(signal: AbortSignal): Promise<IssuedCredential>;
  /**
   * Reads back what a previous run wrote, when it is whole, matches the spec and is unexpired;
   * undefined otherwise. Lets a restart skip a ZTS request for a credential that is still good.
   */
  restore(): Promise<IssuedCredential | undefined>;
}

export interface CredentialContext {
  zts: ZtsClient;
  identity: Identity;
  /** The cert/key files identity, when there is one (`files` and `register` sources). */
  fileIdentity: FileIdentity | undefined;
  logger: Logger;
}
