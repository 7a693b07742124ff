// The `files` identity source: a cert and key written by something else (k8s-athenz-sia, the
// CSI driver, a Secret). Every request checks the files' fingerprint, so a rotated pair is used
// for the very next request; a pair that does not match yet is ignored until it does.

import type { Dispatcher } from 'undici';

import { IdentityError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createZtsDispatcher } from '../zts/dispatcher.js';
import type { ZtsConnectionOptions } from '../zts/dispatcher.js';
import type { DispatcherSource } from '../zts/client.js';
import { fingerprint, loadIdentity } from './tls-files.js';
import type { IdentityPaths, LoadedIdentity } from './tls-files.js';

interface Current {
  fingerprint: string;
  identity: LoadedIdentity;
  dispatcher: Dispatcher;
}

export class FileIdentity implements DispatcherSource {
  readonly #paths: IdentityPaths;
  readonly #connection: ZtsConnectionOptions;
  readonly #logger: Logger;
  #current: Current | undefined;
  /** The fingerprint last found unusable, so one bad pair is reported once, not per request. */
  #rejected: { fingerprint: string; error: unknown } | undefined;
  #loading: Promise<Dispatcher> | undefined;

  constructor(paths: IdentityPaths, connection: ZtsConnectionOptions, logger: Logger) {
    this.#paths = paths;
    this.#connection = connection;
    this.#logger = logger;
  }

  /** Details of the identity in use, for logs and readiness. */
  get current(): LoadedIdentity | undefined {
    return this.#current?.identity;
  }

  /** The dispatcher for the current files, rebuilt when they change. */
  async dispatcher(): Promise<Dispatcher> {
    // Concurrent callers share one check, so a rotation builds one new Agent, not one each.
    this.#loading ??= this.#refresh().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async close(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.dispatcher.close();
  }

  async #refresh(): Promise<Dispatcher> {
    const seen = await fingerprint(this.#paths);
    const current = this.#current;
    if (current !== undefined && current.fingerprint === seen) {
      return current.dispatcher;
    }
    if (seen === this.#rejected?.fingerprint) {
      return this.#fallback(current, this.#rejected.error, false);
    }

    let identity: LoadedIdentity;
    try {
      identity = await loadIdentity(this.#paths);
    } catch (error) {
      this.#rejected = { fingerprint: seen, error };
      return this.#fallback(current, error, true);
    }

    const dispatcher = createZtsDispatcher(identity, this.#connection);
    this.#current = { fingerprint: seen, identity, dispatcher };
    this.#rejected = undefined;
    this.#logger.info(
      {
        principal: identity.principal,
        serial: identity.serial,
        notAfter: identity.notAfter.toISOString(),
        certFile: this.#paths.certFile,
      },
      current === undefined ? 'identity loaded' : 'identity rotated; new connections use it',
    );
    if (current !== undefined) {
      // close() lets in-flight requests finish, then drops every pooled connection that still
      // presents the old certificate.
      current.dispatcher.close().catch((error: unknown) => {
        this.#logger.debug({ err: error }, 'closing the previous dispatcher failed');
      });
    }
    return dispatcher;
  }

  #fallback(current: Current | undefined, error: unknown, report: boolean): Dispatcher {
    if (report) {
      this.#logger.warn(
        { err: error, keepUsing: current?.identity.serial },
        current === undefined
          ? 'identity files are not usable yet'
          : 'identity files changed but are not usable; keeping the previous identity',
      );
    }
    if (current !== undefined) {
      return current.dispatcher;
    }
    throw error instanceof IdentityError
      ? error
      : new IdentityError(`identity files ${this.#paths.certFile} are not usable yet`, error);
  }
}
