// Role tokens: GET /domain/{domain}/token, checked before anything reaches disk.

import { parseRoleToken } from '../athenz/role-token.js';
import type { RoleTokenSpec } from '../config/types.js';
import { badResponse } from '../zts/client.js';
import type { ZtsClient } from '../zts/client.js';
import { grantedLifetime } from './issued.js';
import type { IssuedCredential } from './issued.js';

export async function fetchRoleToken(
  spec: RoleTokenSpec,
  zts: ZtsClient,
  signal: AbortSignal,
): Promise<IssuedCredential> {
  const what = `GET /domain/${spec.domain}/token`;
  const requestedAt = Date.now();
  const response = await zts.roleToken(
    {
      domain: spec.domain,
      roles: spec.roles,
      minExpirySec: spec.minExpirySec,
      maxExpirySec: spec.maxExpirySec,
    },
    signal,
  );

  const claims = parseRoleToken(response.token);
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
  // The token's own e= and the answer's expiryTime should agree; trust the earlier one.
  const expiresAt = Math.min(claims.expiresAt, response.expiryTime) * 1000;
  if (expiresAt <= requestedAt) {
    throw badResponse(what, `token expired at ${new Date(expiresAt).toISOString()}`);
  }

  return {
    files: [
      {
        path: spec.file,
        content: Buffer.from(response.token, 'utf8'),
        mode: spec.mode,
        groupId: spec.groupId,
      },
    ],
    expiresAt,
    issuedAt: requestedAt,
    lifetimeMs: grantedLifetime(
      requestedAt,
      expiresAt,
      (claims.expiresAt - claims.issuedAt) * 1000,
    ),
    details: { roles: claims.roles },
  };
}
