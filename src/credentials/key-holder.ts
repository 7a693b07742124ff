// The private key behind a certificate credential. It is generated once and then kept: read
// back from its file after a restart and reused for every renewal, so only the certificate file
// changes when a certificate rotates and an app never loads a cert with the wrong key.
// A new key is made only when there is none of the configured type (first start, key type
// changed, key file lost); the key file is then written before the certificate.

import type { KeyObject } from 'node:crypto';

import type { Logger } from '../logger.js';
import { generateKey, isKeyType, keyToPem, readKey } from './keys.js';
import type { KeyType } from './keys.js';

export class KeyHolder {
  readonly #path: string;
  readonly #type: KeyType;
  readonly #logger: Logger;
  #key: { key: KeyObject; pem: string } | undefined;

  constructor(path: string, type: KeyType, logger: Logger) {
    this.#path = path;
    this.#type = type;
    this.#logger = logger;
  }

  /** The key, from memory, else from its file, else freshly generated. */
  async get(): Promise<{ key: KeyObject; pem: string }> {
    if (this.#key !== undefined && isKeyType(this.#key.key, this.#type)) {
      return this.#key;
    }
    const onDisk = await readKey(this.#path, this.#type);
    const key = onDisk ?? (await generateKey(this.#type));
    if (onDisk === undefined) {
      this.#logger.info(
        { keyFile: this.#path, keyType: this.#type },
        'generated a new private key',
      );
    }
    this.#key = { key, pem: keyToPem(key) };
    return this.#key;
  }
}
