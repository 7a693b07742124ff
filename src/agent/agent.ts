// The agent: turns a resolved config into running refreshers that share one identity and one
// ZTS client, and tears them down again. Run modes (`run`, `once`) drive it from the CLI.

import { mkdir } from 'node:fs/promises';

import type { CredentialSpec, ResolvedConfig } from '../config/types.js';
import { createCredential } from '../credentials/create.js';
import type { CredentialContext } from '../credentials/credential.js';
import { AnonymousTransport } from '../identity/anonymous-transport.js';
import { FileIdentity } from '../identity/file-identity.js';
import type { Identity, IdentityChange } from '../identity/identity.js';
import { NTokenIdentity } from '../identity/ntoken-identity.js';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from '../output/atomic-write.js';
import { sweepTempFiles } from '../output/sweep.js';
import { Refresher } from '../refresh/refresher.js';
import type { Random } from '../refresh/timing.js';
import { CredentialStatus } from '../state/credential-status.js';
import { StatusBoard } from '../state/status-board.js';
import { ZtsClient } from '../zts/client.js';

export interface AgentOptions {
  logger: Logger;
  /** Random source for jitter; tests pin it. */
  random?: Random;
}

/** Kinds that maintain the identity itself: an identity change must not re-trigger them. */
const IDENTITY_KINDS = new Set<CredentialSpec['kind']>(['instance', 'ntoken']);

export class Agent {
  readonly board = new StatusBoard();
  readonly config: ResolvedConfig;
  readonly #logger: Logger;
  readonly #random: Random | undefined;
  readonly #anonymous: AnonymousTransport;
  readonly #identity: Identity;
  readonly #fileIdentity: FileIdentity | undefined;
  readonly #context: CredentialContext;
  readonly #refreshers = new Map<string, Refresher>();

  constructor(config: ResolvedConfig, options: AgentOptions) {
    this.config = config;
    this.#logger = options.logger;
    this.#random = options.random;
    const connection = {
      connectTimeoutMs: config.zts.connectTimeoutMs,
      requestTimeoutMs: config.zts.requestTimeoutMs,
      maxConnections: config.zts.maxConnections,
    };
    const identityLogger = options.logger.child({ module: 'identity' });
    this.#anonymous = new AnonymousTransport(config.zts.caFile, connection);

    const spec = config.identity;
    if (spec.source === 'ntoken') {
      this.#identity = new NTokenIdentity(spec, this.#anonymous, identityLogger);
    } else {
      this.#fileIdentity = new FileIdentity(
        { certFile: spec.certFile, keyFile: spec.keyFile, caFile: config.zts.caFile },
        connection,
        identityLogger,
      );
      this.#identity = this.#fileIdentity;
    }
    this.#identity.onChange((change) => {
      this.#onIdentityChange(change);
    });
    this.board.setProblem('identity', () => this.#identity.problem());

    const zts = new ZtsClient({
      baseUrl: config.zts.url,
      identity: this.#identity,
      anonymous: this.#anonymous,
      requestTimeoutMs: config.zts.requestTimeoutMs,
    });
    this.#context = {
      zts,
      identity: this.#identity,
      fileIdentity: this.#fileIdentity,
      logger: options.logger.child({ module: 'credentials' }),
    };
    for (const credential of config.credentials) {
      this.#add(credential);
    }
  }

  /** Every refresher, in config order. */
  get refreshers(): Refresher[] {
    return [...this.#refreshers.values()];
  }

  /** Makes the output directory ready: created if absent, leftovers of a killed run removed. */
  async prepare(): Promise<void> {
    await mkdir(this.config.output.dir, { recursive: true });
    const removed = await sweepTempFiles(this.config.output.dir);
    if (removed > 0) {
      this.#logger.info({ dir: this.config.output.dir, removed }, 'removed leftover temp files');
    }
  }

  /** Starts watching the identity and refreshing every credential. */
  start(): void {
    this.#fileIdentity?.watch();
    for (const refresher of this.#refreshers.values()) {
      refresher.start();
    }
    this.#logger.info(
      {
        credentials: this.#refreshers.size,
        identity: this.config.identity.source,
        outputDir: this.config.output.dir,
        zts: this.config.zts.url,
      },
      'agent started',
    );
  }

  /** Stops every refresher (finishing writes in flight) and closes ZTS connections. */
  async stop(): Promise<void> {
    await Promise.all([...this.#refreshers.values()].map((refresher) => refresher.stop()));
    await this.#identity.close();
    await this.#anonymous.close();
  }

  #add(spec: CredentialSpec): void {
    const status = new CredentialStatus(spec, spec.files);
    this.board.add(status);
    const refresher = new Refresher({
      credential: createCredential(spec, this.#context),
      write: writeFileAtomic,
      status,
      policy: this.config.refresh,
      logger: this.#logger.child({ module: 'refresh' }),
      ...(this.#random === undefined ? {} : { random: this.#random }),
    });
    this.#refreshers.set(spec.id, refresher);
  }

  /**
   * A rotated identity refreshes every credential it authenticated: access tokens fetched over
   * mTLS are bound to the old certificate (`cnf`). A newly usable identity wakes the credentials
   * that were waiting for it.
   */
  #onIdentityChange(change: IdentityChange): void {
    for (const refresher of this.#refreshers.values()) {
      if (IDENTITY_KINDS.has(refresher.spec.kind)) {
        continue;
      }
      const waiting = this.board.get(refresher.spec.id)?.lastError?.code === 'IDENTITY_UNAVAILABLE';
      if (change === 'rotated' || waiting) {
        refresher.kick();
      }
    }
  }
}
