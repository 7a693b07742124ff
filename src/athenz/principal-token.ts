// Principal tokens (N-tokens, auth_core token/PrincipalToken.java): `v=S1;d=…;n=…;…;k=…;s=…`,
// signed by the service's own private key and sent to ZTS in the Athenz-Principal-Auth header.

import { randomBytes } from 'node:crypto';
import type { KeyLike } from 'node:crypto';

import { parseTokenFields, signToken, unsignedToken } from './signed-token.js';

/** The header ZTS's PrincipalAuthority reads by default. */
export const PRINCIPAL_AUTH_HEADER = 'Athenz-Principal-Auth';

export interface PrincipalTokenClaims {
  domain: string;
  service: string;
  /** The id under which the service's public key is registered in ZMS. */
  keyId: string;
  host?: string | undefined;
  /** Epoch seconds. */
  issuedAt: number;
  /** Epoch seconds. */
  expiresAt: number;
  salt?: string | undefined;
  ip?: string | undefined;
}

/** Builds and signs an N-token in PrincipalToken.java's field order. */
export function signPrincipalToken(claims: PrincipalTokenClaims, privateKey: KeyLike): string {
  const unsigned = unsignedToken([
    ['v', 'S1'],
    ['d', claims.domain],
    ['n', claims.service],
    ['h', claims.host],
    ['a', claims.salt ?? randomBytes(8).toString('hex')],
    ['t', String(claims.issuedAt)],
    ['e', String(claims.expiresAt)],
    ['k', claims.keyId],
    ['i', claims.ip],
  ]);
  return signToken(unsigned, privateKey);
}

/** Reads an N-token's claims without checking its signature; undefined when malformed. */
export function parsePrincipalToken(token: string): PrincipalTokenClaims | undefined {
  const fields = parseTokenFields(token);
  if (fields?.get('v') !== 'S1' || !fields.has('s')) {
    return undefined;
  }
  const domain = fields.get('d');
  const service = fields.get('n');
  const keyId = fields.get('k') ?? '0';
  const issuedAt = Number(fields.get('t'));
  const expiresAt = Number(fields.get('e'));
  if (
    domain === undefined ||
    service === undefined ||
    !Number.isSafeInteger(issuedAt) ||
    !Number.isSafeInteger(expiresAt)
  ) {
    return undefined;
  }
  return {
    domain,
    service,
    keyId,
    host: fields.get('h'),
    issuedAt,
    expiresAt,
    salt: fields.get('a'),
    ip: fields.get('i'),
  };
}
