// Role tokens: GET /domain/{domain}/token, checked before anything reaches disk.

import { parseRoleToken } from '../athenz/role-token.js';
import type { RoleTokenSpec } from '../config/types.js';
import { badResponse } from '../zts/client.js';
import type { Credential, CredentialContext } from './credential.js';
import { checkValidity, grantedLifetime, readIfPresent, restoredCredential } from './issued.js';

export function roleTokenCredential(spec: RoleTokenSpec, context: CredentialContext): Credential {
  const what = `GET /domain/${spec.domain}/token`;
  return {
    spec,
    async fetch(signal) {
      const requestedAt = Date.now();
      const response = await context.zts.roleToken(
        {
          domain: spec.domain,
          roles: spec.roles,
          minExpirySec: spec.minExpirySec,
          maxExpirySec: spec.maxExpirySec,
        },
        signal,
      );
      const claims = checkRoleToken(spec, response.token, what, requestedAt);
      // The token's own e= and the answer's expiryTime should agree; trust the earlier one.
      checkValidity(what, 'expiryTime', undefined, response.expiryTime, requestedAt);
      const expiresAt = Math.min(claims.expiresAt, response.expiryTime) * 1000;
      return {
        files: [output(spec, response.token)],
        expiresAt,
        issuedAt: requestedAt,
        lifetimeMs: grantedLifetime(
          requestedAt,
          expiresAt,
          (claims.expiresAt - claims.issuedAt) * 1000,
        ),
        details: { roles: claims.roles },
      };
    },
    async restore() {
      const token = (await readIfPresent(spec.file))?.toString('utf8');
      if (token === undefined) {
        return undefined;
      }
      try {
        const claims = checkRoleToken(spec, token, what, Date.now());
        return await restoredCredential([output(spec, token)], claims.expiresAt * 1000, {
          roles: claims.roles,
        });
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * ZTS's SignedToken grammar with a non-empty YBase64 signature at the end. `:` is allowed too:
 * the `i=` field holds the client address, which may be IPv6.
 */
const SIGNED_TOKEN = /^[a-zA-Z0-9._%=;,:-]*;s=[a-zA-Z0-9._-]+$/;

function checkRoleToken(spec: RoleTokenSpec, token: string, what: string, now: number) {
  const claims = SIGNED_TOKEN.test(token) ? parseRoleToken(token) : undefined;
  if (claims === undefined) {
    throw badResponse(what, 'token is not a well-formed, signed Z1 role token');
  }
  checkValidity(what, 'token', claims.issuedAt, claims.expiresAt, now);
  if (claims.roles.length === 0 || claims.roles.includes('')) {
    throw badResponse(what, 'token carries no roles');
  }
  if (claims.domain !== spec.domain) {
    throw badResponse(what, `token is for domain ${claims.domain}, not ${spec.domain}`);
  }
  const requested = spec.roles;
  if (requested !== undefined) {
    const extra = claims.roles.filter((role) => !requested.includes(role));
    if (extra.length > 0) {
      throw badResponse(what, `token carries roles that were not requested: ${extra.join(', ')}`);
    }
  }
  return claims;
}

function output(spec: RoleTokenSpec, token: string) {
  return {
    path: spec.file,
    content: Buffer.from(token, 'utf8'),
    mode: spec.mode,
    groupId: spec.groupId,
  };
}
