// The ZTS signing key: one EC P-256 key that signs ES256 access tokens and role tokens, with the
// key id that tokens carry (`kid` / `k=`) and that the key endpoints serve it under.

import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { readIfExists, writeFileAtomic } from './files.js';

export interface Signer {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo PEM, as ZMS stores service public keys. */
  readonly publicKeyPem: string;
}

/** The id of the first key; ZTS key ids are free text, and the public key API lower-cases them. */
export const DEFAULT_KEY_ID = 'devzts.0';

const KEY_FILE = 'signing.key.pem';
const META_FILE = 'signing.json';
const KEY_ID = /^[a-z0-9][a-z0-9._-]*$/;

/** Loads the signing key from the state folder, creating it on first start. */
export async function loadOrCreateSigner(stateDir: string): Promise<Signer> {
  const keyFile = join(stateDir, KEY_FILE);
  const metaFile = join(stateDir, META_FILE);

  // signing.json is written last, so without it any key file is a leftover from a crash.
  const meta = await readIfExists(metaFile);
  if (meta === undefined) {
    const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
    await writeFileAtomic(keyFile, exportPem(privateKey), 0o600);
    await writeFileAtomic(metaFile, `${JSON.stringify({ kid: DEFAULT_KEY_ID })}\n`, 0o644);
    return toSigner(DEFAULT_KEY_ID, privateKey);
  }

  const kid = parseKid(meta, metaFile);
  const pem = await readIfExists(keyFile);
  if (pem === undefined) {
    throw new Error(`${keyFile} is missing although ${metaFile} exists; remove both to start over`);
  }
  return toSigner(kid, createPrivateKey(pem));
}

function toSigner(kid: string, privateKey: KeyObject): Signer {
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { kid, privateKey, publicKey, publicKeyPem };
}

function exportPem(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function parseKid(meta: string, file: string): string {
  let kid: unknown;
  try {
    kid = (JSON.parse(meta) as { kid?: unknown }).kid;
  } catch {
    kid = undefined;
  }
  if (typeof kid !== 'string' || !KEY_ID.test(kid)) {
    throw new Error(`${file}: expected {"kid": "<lower-case key id>"}`);
  }
  return kid;
}
