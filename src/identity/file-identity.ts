// The identity held in cert and key files: written by something else (`files`: k8s-athenz-sia,
// the CSI driver, a Secret) or by the agent's own instance registration (`register`).
// Every request checks the files' fingerprint, so a rotated pair is used for the very next
// request; a watcher on their folders also reloads them as soon as they change, so readiness and
// waiting refreshers learn of a new identity without waiting for a request. A pair that does not
// match yet is ignored until it does; the previous good pair stays in use meanwhile.

import { dirname } from 'node:path';

import { onlyThese } from '../util/watch-filter.js';

import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import type { Dispatcher } from 'undici';

import { IdentityError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createZtsDispatcher } from '../zts/dispatcher.js';
import type { ZtsConnectionOptions } from '../zts/dispatcher.js';
import type { Identity, IdentityChange, ZtsConnection } from './identity.js';
import { fingerprint, loadIdentity } from './tls-files.js';
import type { IdentityPaths, LoadedIdentity } from './tls-files.js';

interface Current {
  fingerprint: string;
  identity: LoadedIdentity;
  dispatcher: Dispatcher;
}

/** Events in the watched folders are coalesced over this long before the files are checked. */
const SETTLE_MS = 100;
/** The files are also checked this often, whatever the watcher says. */
const POLL_MS = 10_000;

export class FileIdentity implements Identity {
  readonly #paths: IdentityPaths;
  readonly #connection: ZtsConnectionOptions;
  readonly #logger: Logger;
  readonly #listeners: Array<(change: IdentityChange) => void> = [];
  #current: Current | undefined;
  /** The fingerprint last found unusable, so one bad pair is reported once, not per request. */
  #rejected: { fingerprint: string; error: unknown } | undefined;
  #loading: Promise<Dispatcher> | undefined;
  #watcher: FSWatcher | undefined;
  #settle: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  readonly #whenAbsent: string | undefined;

  /**
   * `whenAbsent` replaces the not-ready message while the files do not exist yet, when their
   * absence is expected (the agent's own registration has not written them yet).
   */
  constructor(
    paths: IdentityPaths,
    connection: ZtsConnectionOptions,
    logger: Logger,
    whenAbsent?: string,
  ) {
    this.#paths = paths;
    this.#connection = connection;
    this.#logger = logger;
    this.#whenAbsent = whenAbsent;
  }

  /** Details of the identity in use, for logs, CSRs and readiness. */
  get current(): LoadedIdentity | undefined {
    return this.#current?.identity;
  }

  principal(): string | undefined {
    return this.#current?.identity.principal;
  }

  problem(): string | undefined {
    if (this.#current !== undefined) {
      return undefined;
    }
    const error = this.#rejected?.error;
    const absent =
      ((error as Error | undefined)?.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    if (absent && this.#whenAbsent !== undefined) {
      return this.#whenAbsent;
    }
    return error instanceof Error
      ? error.message
      : `identity files ${this.#paths.certFile} not loaded yet`;
  }

  onChange(listener: (change: IdentityChange) => void): void {
    this.#listeners.push(listener);
  }

  /** Starts watching the files' folders; the first load happens at once. */
  watch(): void {
    if (this.#watcher !== undefined || this.#closed) {
      return;
    }
    // Folders, not files: a Secret or emptyDir update replaces files by rename or by swapping a
    // `..data` symlink, and a file that does not exist yet cannot be watched by path.
    const files = [this.#paths.certFile, this.#paths.keyFile, this.#paths.caFile];
    const folders = [...new Set(files.map((file) => dirname(file)))];
    this.#watcher = watch(folders, {
      depth: 0,
      ignoreInitial: true,
      ignored: onlyThese(folders, files),
    });
    this.#watcher.on('all', () => {
      this.#scheduleCheck();
    });
    this.#watcher.on('error', (error: unknown) => {
      this.#logger.warn(
        { err: error },
        'watching the identity files failed; changes are still seen on each request',
      );
    });
    // A watch dies with its folder (deleted and made again): a slow timer covers that, and
    // filesystems without inotify.
    this.#poll = setInterval(() => {
      this.#scheduleCheck();
    }, POLL_MS);
    this.#poll.unref();
    this.#scheduleCheck();
  }

  async connection(): Promise<ZtsConnection> {
    return { dispatcher: await this.dispatcher(), headers: {} };
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
    this.#closed = true;
    clearTimeout(this.#settle);
    clearInterval(this.#poll);
    await this.#watcher?.close();
    const current = this.#current;
    this.#current = undefined;
    await current?.dispatcher.close();
  }

  #scheduleCheck(): void {
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => {
      this.dispatcher().catch(() => {
        // Already logged by #fallback; readiness shows it through problem().
      });
    }, SETTLE_MS);
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
    if (
      current !== undefined &&
      current.identity.serial === identity.serial &&
      current.identity.ca === identity.ca
    ) {
      // Same certificate and CA, files merely touched or rewritten: keep the pool.
      this.#current = { ...current, fingerprint: seen };
      return current.dispatcher;
    }

    const dispatcher = createZtsDispatcher(identity, this.#connection);
    this.#current = { fingerprint: seen, identity, dispatcher };
    this.#rejected = undefined;
    if (identity.notAfter.getTime() <= Date.now()) {
      this.#logger.warn(
        {
          serial: identity.serial,
          notAfter: identity.notAfter.toISOString(),
          certFile: this.#paths.certFile,
        },
        'the identity certificate has expired; ZTS will refuse it until it is renewed',
      );
    }
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
    for (const listener of this.#listeners) {
      listener(current === undefined ? 'loaded' : 'rotated');
    }
    return dispatcher;
  }

  #fallback(current: Current | undefined, error: unknown, report: boolean): Dispatcher {
    if (report) {
      this.#logger.warn(
        { err: error, keepUsing: current?.identity.serial },
        current === undefined
          ? 'identity files are not usable yet; waiting for them'
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
