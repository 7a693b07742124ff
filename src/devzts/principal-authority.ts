// N-token authentication, as auth_core's PrincipalAuthority does it: read the S1 token from the
// Athenz-Principal-Auth header, find the signer's ZMS public key by (domain, service, key id), then
// run Token.validate's checks in its order (future issue time, expired, too far out, signature).

import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { parsePrincipalToken } from '../athenz/principal-token.js';
import { parseTokenFields, verifyToken } from '../athenz/signed-token.js';
import type { DevZtsPolicy } from './policy.js';

/** `athenz.auth.principal.token_allowed_offset`: clock skew allowed on the issue time, seconds. */
export const TOKEN_ALLOWED_OFFSET_S = 300;

/** `athenz.token_max_expiry`: the furthest a token may expire, seconds from now (30 d). */
export const TOKEN_MAX_EXPIRY_S = 30 * 86_400;

/** The ZMS public keys the policy registers, by principal and key id. */
export class PublicKeyIndex {
  readonly #keys: ReadonlyMap<string, ReadonlyMap<string, KeyObject>>;

  constructor(policy: DevZtsPolicy) {
    const keys = new Map<string, Map<string, KeyObject>>();
    for (const [principal, byId] of Object.entries(policy.publicKeys ?? {})) {
      keys.set(
        principal,
        new Map(Object.entries(byId).map(([id, pem]) => [id, createPublicKey(pem)])),
      );
    }
    this.#keys = keys;
  }

  get(principal: string, keyId: string): KeyObject | undefined {
    return this.#keys.get(principal)?.get(keyId);
  }
}

export type NTokenResult = { principal: string } | { error: string };

/** Validates an N-token; the error text is for the debug log only, never for the client. */
export function authenticateNToken(
  token: string,
  keys: PublicKeyIndex,
  nowMs = Date.now(),
): NTokenResult {
  const claims = parsePrincipalToken(token);
  if (claims === undefined) {
    return { error: 'malformed principal token' };
  }
  const domain = claims.domain.toLowerCase();
  const service = claims.service.toLowerCase();

  // `z=zms|zts` moves the key lookup to sys.auth.zms / sys.auth.zts (getPublicKey).
  const keyService = parseTokenFields(token)?.get('z');
  const signer =
    keyService === 'zms' || keyService === 'zts'
      ? `sys.auth.${keyService}`
      : `${domain}.${service}`;
  const publicKey = keys.get(signer, claims.keyId);
  if (publicKey === undefined) {
    return { error: `no public key ${signer}/${claims.keyId}` };
  }

  const now = Math.floor(nowMs / 1000);
  if (claims.issuedAt !== 0 && claims.issuedAt - TOKEN_ALLOWED_OFFSET_S > now) {
    return { error: 'issue time is in the future' };
  }
  if (claims.expiresAt < now) {
    return { error: 'expired' };
  }
  if (claims.expiresAt > now + TOKEN_MAX_EXPIRY_S + TOKEN_ALLOWED_OFFSET_S) {
    return { error: 'expires too far in the future' };
  }
  if (!signatureVerifies(token, publicKey)) {
    return { error: 'signature does not verify' };
  }
  return { principal: `${domain}.${service}` };
}

function signatureVerifies(token: string, publicKey: KeyObject): boolean {
  try {
    return verifyToken(token, publicKey);
  } catch {
    // A signature that is not even DER (EC) or has the wrong length (RSA) is simply invalid.
    return false;
  }
}
