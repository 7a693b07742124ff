// A dispatcher that trusts the ZTS CA but presents no client certificate: for instance
// registration (attestation is the proof) and for N-token identities (the header is the proof).
// Rebuilt when the CA file changes.

import { readFile } from 'node:fs/promises';

import type { Dispatcher } from 'undici';

import { IdentityError, describeCause } from '../errors.js';
import { fileFingerprint } from '../util/file-fingerprint.js';
import { createZtsDispatcher } from '../zts/dispatcher.js';
import type { ZtsConnectionOptions } from '../zts/dispatcher.js';

export class AnonymousTransport {
  readonly #caFile: string;
  readonly #options: ZtsConnectionOptions;
  #current: { fingerprint: string; dispatcher: Dispatcher } | undefined;
  #problem: string | undefined;

  /** Why the CA bundle could not be used at the last attempt, if it could not. */
  problem(): string | undefined {
    return this.#problem;
  }

  constructor(caFile: string, options: ZtsConnectionOptions) {
    this.#caFile = caFile;
    this.#options = options;
  }

  async dispatcher(): Promise<Dispatcher> {
    try {
      const dispatcher = await this.#dispatcher();
      this.#problem = undefined;
      return dispatcher;
    } catch (error) {
      this.#problem = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  async #dispatcher(): Promise<Dispatcher> {
    let fingerprint: string;
    try {
      fingerprint = await fileFingerprint(this.#caFile);
    } catch (error) {
      throw new IdentityError(
        `cannot read the ZTS CA bundle ${this.#caFile}: ${describeCause(error)}`,
        error,
      );
    }
    if (this.#current?.fingerprint === fingerprint) {
      return this.#current.dispatcher;
    }
    const ca = await readFile(this.#caFile, 'utf8').catch((error: unknown) => {
      throw new IdentityError(
        `cannot read the ZTS CA bundle ${this.#caFile}: ${describeCause(error)}`,
        error,
      );
    });
    const previous = this.#current;
    this.#current = { fingerprint, dispatcher: createZtsDispatcher({ ca }, this.#options) };
    void previous?.dispatcher.close().catch(() => undefined);
    return this.#current.dispatcher;
  }

  /**
   * A one-off dispatcher presenting a certificate that is not the identity yet: a service
   * certificate just issued and not written, used once before it is published.
   */
  async withClientCert(cert: string, key: string): Promise<Dispatcher> {
    const ca = await readFile(this.#caFile, 'utf8').catch((error: unknown) => {
      throw new IdentityError(
        `cannot read the ZTS CA bundle ${this.#caFile}: ${describeCause(error)}`,
        error,
      );
    });
    return createZtsDispatcher({ ca, cert, key }, this.#options);
  }

  async close(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.dispatcher.close();
  }
}
