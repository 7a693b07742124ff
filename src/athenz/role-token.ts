// Role tokens (auth_core token/RoleToken.java): `v=Z1;d=…;r=…;…;e=…;k=…;s=…`.

import { parseTokenFields, unsignedToken } from './signed-token.js';

export interface RoleTokenClaims {
  domain: string;
  roles: string[];
  /** Set when the token carries every role the principal holds (`c=1`). */
  complete: boolean;
  principal?: string | undefined;
  host?: string | undefined;
  proxy?: string | undefined;
  salt: string;
  /** Epoch seconds. */
  issuedAt: number;
  /** Epoch seconds. */
  expiresAt: number;
  keyId: string;
  ip?: string | undefined;
}

/** The unsigned text of a role token, in the field order RoleToken.java writes. */
export function unsignedRoleToken(claims: RoleTokenClaims): string {
  return unsignedToken([
    ['v', 'Z1'],
    ['d', claims.domain],
    ['r', claims.roles.join(',')],
    ['c', claims.complete ? '1' : undefined],
    ['p', claims.principal],
    ['h', claims.host],
    ['proxy', claims.proxy],
    ['a', claims.salt],
    ['t', String(claims.issuedAt)],
    ['e', String(claims.expiresAt)],
    ['k', claims.keyId],
    ['i', claims.ip],
  ]);
}

/** Reads the claims of a role token without checking its signature. */
export function parseRoleToken(token: string): RoleTokenClaims | undefined {
  const fields = parseTokenFields(token);
  if (fields?.get('v') !== 'Z1' || !fields.has('s')) {
    return undefined;
  }
  const domain = fields.get('d');
  const roles = fields.get('r');
  const issuedAt = Number(fields.get('t'));
  const expiresAt = Number(fields.get('e'));
  const keyId = fields.get('k');
  if (
    domain === undefined ||
    roles === undefined ||
    keyId === undefined ||
    !Number.isSafeInteger(issuedAt) ||
    !Number.isSafeInteger(expiresAt)
  ) {
    return undefined;
  }
  return {
    domain,
    roles: roles.split(','),
    complete: fields.get('c') === '1',
    principal: fields.get('p'),
    host: fields.get('h'),
    proxy: fields.get('proxy'),
    salt: fields.get('a') ?? '',
    issuedAt,
    expiresAt,
    keyId,
    ip: fields.get('i'),
  };
}
