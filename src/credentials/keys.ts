// Private keys for certificates: generated with node:crypto, stored as PKCS#8 PEM, reused across
// renewals, and handed to WebCrypto when a CSR has to be signed.

import { createPrivateKey, createPublicKey, generateKeyPair, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

export type KeyType = 'ec' | 'rsa';

/** A fresh EC P-256 or RSA 2048 key. */
export async function generateKey(type: KeyType): Promise<KeyObject> {
  const pair =
    type === 'ec'
      ? await generate('ec', { namedCurve: 'prime256v1' })
      : await generate('rsa', { modulusLength: 2048 });
  return pair.privateKey;
}

/** Reads a key file back; undefined when it is absent, unreadable or of another type. */
export async function readKey(path: string, type: KeyType): Promise<KeyObject | undefined> {
  try {
    const key = createPrivateKey(await readFile(path));
    return isKeyType(key, type) ? key : undefined;
  } catch {
    return undefined;
  }
}

export function isKeyType(key: KeyObject, type: KeyType): boolean {
  if (type === 'ec') {
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  }
  return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
}

export function keyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** DER SubjectPublicKeyInfo of a private key's public half, to compare with a certificate. */
export function publicKeyDer(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

export interface SigningKeys {
  keys: webcrypto.CryptoKeyPair;
  algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  signingAlgorithm: { name: string; hash?: string };
}

/** Imports a node:crypto key into WebCrypto, as @peculiar/x509 signs with WebCrypto keys. */
export async function toSigningKeys(key: KeyObject): Promise<SigningKeys> {
  const rsa = key.asymmetricKeyType === 'rsa';
  const algorithm = rsa
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: 'P-256' };
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']),
    webcrypto.subtle.importKey('spki', publicKeyDer(key), algorithm, true, ['verify']),
  ]);
  return {
    keys: { privateKey, publicKey },
    algorithm,
    signingAlgorithm: rsa ? algorithm : { name: 'ECDSA', hash: 'SHA-256' },
  };
}
