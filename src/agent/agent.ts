// The agent: turns a resolved config into running refreshers that share one identity and one
// ZTS client, and tears them down again. Run modes (`run`, `once`) drive it from the CLI.

import { mkdir } from 'node:fs/promises';

import type { CredentialSpec, ResolvedConfig } from '../config/types.js';
import { fetchCredential } from '../credentials/fetch.js';
import { FileIdentity } from '../identity/file-identity.js';
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

export class Agent {
  readonly board = new StatusBoard();
  readonly config: ResolvedConfig;
  readonly #logger: Logger;
  readonly #random: Random | undefined;
  readonly #identity: FileIdentity;
  readonly #zts: ZtsClient;
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
    this.#identity = new FileIdentity(
      {
        certFile: config.identity.certFile,
        keyFile: config.identity.keyFile,
        caFile: config.zts.caFile,
      },
      connection,
      options.logger.child({ module: 'identity' }),
    );
    this.#zts = new ZtsClient({
      baseUrl: config.zts.url,
      identity: this.#identity,
      requestTimeoutMs: config.zts.requestTimeoutMs,
    });
    for (const spec of config.credentials) {
      this.#add(spec);
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

  /** Starts refreshing every credential; the first fetches go out at once. */
  start(): void {
    for (const refresher of this.#refreshers.values()) {
      refresher.start();
    }
    this.#logger.info(
      {
        credentials: this.#refreshers.size,
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
  }

  #add(spec: CredentialSpec): void {
    const status = new CredentialStatus(spec, [spec.file]);
    this.board.add(status);
    const refresher = new Refresher(spec, {
      fetch: (credential, signal) => fetchCredential(credential, this.#zts, signal),
      write: writeFileAtomic,
      status,
      policy: this.config.refresh,
      logger: this.#logger.child({ module: 'refresh' }),
      ...(this.#random === undefined ? {} : { random: this.#random }),
    });
    this.#refreshers.set(spec.id, refresher);
  }
}
