// The `ntoken` identity: the agent signs principal tokens (N-tokens) with the service's private
// key and sends them in the Athenz-Principal-Auth header, over TLS without a client certificate.
// A token is reused until half its lifetime has passed; the key file is re-read when it changes.

import { createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

import { PRINCIPAL_AUTH_HEADER, signPrincipalToken } from '../athenz/principal-token.js';
import { IdentityError, describeCause } from '../errors.js';
import { fileFingerprint } from '../util/file-fingerprint.js';
import type { Logger } from '../logger.js';
import type { AnonymousTransport } from './anonymous-transport.js';
import type { Identity, IdentityChange, ZtsConnection } from './identity.js';

export interface NTokenIdentityOptions {
  domain: string;
  service: string;
  keyFile: string;
  keyVersion: string;
  lifetimeMs: number;
}

export class NTokenIdentity implements Identity {
  readonly #options: NTokenIdentityOptions;
  readonly #transport: AnonymousTransport;
  readonly #logger: Logger;
  readonly #listeners: Array<(change: IdentityChange) => void> = [];
  #key: { fingerprint: string; key: KeyObject } | undefined;
  #token: { value: string; renewAt: number } | undefined;
  #problem: string | undefined;
  #loading: Promise<KeyObject> | undefined;

  constructor(options: NTokenIdentityOptions, transport: AnonymousTransport, logger: Logger) {
    this.#options = options;
    this.#transport = transport;
    this.#logger = logger;
  }

  principal(): string {
    return `${this.#options.domain}.${this.#options.service}`;
  }

  problem(): string | undefined {
    return this.#problem ?? this.#transport.problem();
  }

  onChange(listener: (change: IdentityChange) => void): void {
    this.#listeners.push(listener);
  }

  async connection(): Promise<ZtsConnection> {
    const token = await this.token();
    return {
      dispatcher: await this.#transport.dispatcher(),
      headers: { [PRINCIPAL_AUTH_HEADER]: token },
    };
  }

  /** The current N-token, signed anew when half its lifetime has passed or the key changed. */
  async token(now = Date.now()): Promise<string> {
    const key = await this.#loadKey();
    if (this.#token !== undefined && now < this.#token.renewAt) {
      return this.#token.value;
    }
    const issuedAt = Math.floor(now / 1000);
    const value = signPrincipalToken(
      {
        domain: this.#options.domain,
        service: this.#options.service,
        keyId: this.#options.keyVersion,
        host: hostname(),
        issuedAt,
        expiresAt: issuedAt + Math.floor(this.#options.lifetimeMs / 1000),
      },
      key,
    );
    this.#token = { value, renewAt: now + this.#options.lifetimeMs / 2 };
    return value;
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  /** The key, re-read when its file changed; concurrent callers share one read. */
  #loadKey(): Promise<KeyObject> {
    this.#loading ??= this.#readKey().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #readKey(): Promise<KeyObject> {
    const path = this.#options.keyFile;
    let seen: string;
    let key: KeyObject;
    try {
      seen = await fileFingerprint(path);
      if (this.#key?.fingerprint === seen) {
        this.#problem = undefined;
        return this.#key.key;
      }
      key = createPrivateKey(await readFile(path));
    } catch (error) {
      const problem = `cannot use the service key ${path}: ${describeCause(error)}`;
      if (this.#key !== undefined) {
        // Still signing with the key read before: a problem for the logs, not for readiness.
        this.#logger.warn(
          { keyFile: path, err: error },
          'service key unreadable; keeping the previous one',
        );
        return this.#key.key;
      }
      this.#problem = problem;
      throw new IdentityError(problem, error);
    }
    const rotated = this.#key !== undefined;
    this.#key = { fingerprint: seen, key };
    this.#token = undefined;
    this.#problem = undefined;
    this.#logger.info(
      { principal: this.principal(), keyFile: path, keyVersion: this.#options.keyVersion },
      rotated ? 'service key rotated' : 'service key loaded',
    );
    // Tokens ZTS issued on the old key's N-tokens stay valid: only the first load matters.
    if (!rotated) {
      for (const listener of this.#listeners) {
        listener('loaded');
      }
    }
    return key;
  }
}
