// Athenz signed tokens (role tokens `v=Z1`, principal tokens `v=S1`): `;`-separated `key=value`
// items, signed over the exact text before `;s=`. SHA-256 with the signer's RSA (PKCS#1 v1.5) or
// EC key (DER signature), encoded in YBase64.

import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyLike } from 'node:crypto';

import { ybase64Decode, ybase64Encode } from './ybase64.js';

export type TokenFields = ReadonlyArray<readonly [key: string, value: string | undefined]>;

/** Joins fields in the given order, skipping undefined ones: the text that gets signed. */
export function unsignedToken(fields: TokenFields): string {
  return fields
    .filter((field): field is readonly [string, string] => field[1] !== undefined)
    .map(([key, value]) => `${key}=${value}`)
    .join(';');
}

/** Signs the unsigned text and appends `;s=<signature>`. */
export function signToken(unsigned: string, privateKey: KeyLike): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const signature = sign('sha256', Buffer.from(unsigned, 'utf8'), key);
  return `${unsigned};s=${ybase64Encode(signature)}`;
}

/** Verifies the signature of a signed token against a public key (PEM or KeyObject). */
export function verifyToken(token: string, publicKey: KeyLike): boolean {
  const at = token.lastIndexOf(';s=');
  if (at < 0) {
    return false;
  }
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const signature = ybase64Decode(token.slice(at + 3));
  return verify('sha256', Buffer.from(token.slice(0, at), 'utf8'), key, signature);
}

/**
 * Splits a signed token into its items. Like the upstream parsers, every item must hold exactly
 * one `=`; returns undefined for anything else. Order is irrelevant.
 */
export function parseTokenFields(token: string): Map<string, string> | undefined {
  const fields = new Map<string, string>();
  for (const item of token.split(';')) {
    const [key, value, ...rest] = item.split('=');
    if (
      key === undefined ||
      key === '' ||
      value === undefined ||
      rest.length > 0 ||
      fields.has(key)
    ) {
      return undefined;
    }
    fields.set(key, value);
  }
  return fields;
}
