// Role tokens: GET /domain/{domain}/token, checked before anything reaches disk.

import { parseRoleToken } from '../athenz/role-token.js';
import type { RoleTokenSpec } from '../config/types.js';
import { badResponse } from '../zts/client.js';
import type { Credential, CredentialContext } from './credential.js';
import { grantedLifetime, readIfPresent, restoredCredential } from './issued.js';

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
      const claims = checkRoleToken(spec, response.token, what);
      // The token's own e= and the answer's expiryTime should agree; trust the earlier one.
      const expiresAt = Math.min(claims.expiresAt, response.expiryTime) * 1000;
      if (expiresAt <= requestedAt) {
        throw badResponse(what, `token expired at ${new Date(expiresAt).toISOString()}`);
      }
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
        const claims = checkRoleToken(spec, token, what);
        return await restoredCredential([output(spec, token)], claims.expiresAt * 1000, {
          roles: claims.roles,
        });
      } catch {
        return undefined;
      }
    },
  };
}

function checkRoleToken(spec: RoleTokenSpec, token: string, what: string) {
  const claims = parseRoleToken(token);
  if (claims === undefined) {
    throw badResponse(what, 'token is not a Z1 role token');
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
