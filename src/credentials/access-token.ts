// Access tokens: POST /oauth2/token, checked before anything reaches disk.

import { decodeJwt } from 'jose';
import type { JWTPayload } from 'jose';

import type { AccessTokenSpec } from '../config/types.js';
import { badResponse } from '../zts/client.js';
import type { ZtsClient } from '../zts/client.js';
import type { AccessTokenResponse } from '../zts/wire.js';
import { grantedLifetime } from './issued.js';
import type { IssuedCredential } from './issued.js';

const WHAT = 'POST /oauth2/token';

export async function fetchAccessToken(
  spec: AccessTokenSpec,
  zts: ZtsClient,
  signal: AbortSignal,
): Promise<IssuedCredential> {
  const requestedAt = Date.now();
  const response = await zts.accessToken(
    { domain: spec.domain, roles: spec.roles, expiresInSec: spec.expiresInSec },
    signal,
  );
  const claims = checkAccessToken(spec, response, requestedAt);
  const expiresAt = claims.exp * 1000;
  const content =
    spec.format === 'jwt'
      ? Buffer.from(response.access_token, 'utf8')
      : Buffer.from(JSON.stringify(response), 'utf8');

  return {
    files: [{ path: spec.file, content, mode: spec.mode, groupId: spec.groupId }],
    expiresAt,
    issuedAt: requestedAt,
    lifetimeMs: grantedLifetime(
      requestedAt,
      expiresAt,
      response.expires_in === undefined ? undefined : response.expires_in * 1000,
    ),
    details: { roles: claims.roles },
  };
}

/**
 * Refuses tokens that do not answer the request: not a JWT, another domain, roles that were not
 * asked for, already expired. ZTS may grant fewer roles than asked; that token is still useful.
 */
export function checkAccessToken(
  spec: AccessTokenSpec,
  response: AccessTokenResponse,
  now: number,
): { exp: number; roles: string[] } {
  if (response.token_type.toLowerCase() !== 'bearer') {
    throw badResponse(WHAT, `token_type is ${JSON.stringify(response.token_type)}, not Bearer`);
  }
  let claims: JWTPayload;
  try {
    claims = decodeJwt(response.access_token);
  } catch (error) {
    throw badResponse(WHAT, 'access_token is not a JWT', undefined, error);
  }
  if (typeof claims.exp !== 'number') {
    throw badResponse(WHAT, 'access_token has no exp claim');
  }
  if (claims.exp * 1000 <= now) {
    throw badResponse(WHAT, `access_token expired at ${new Date(claims.exp * 1000).toISOString()}`);
  }
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  if (!audiences.includes(spec.domain)) {
    throw badResponse(
      WHAT,
      `access_token is for ${JSON.stringify(claims.aud)}, not ${spec.domain}`,
    );
  }
  const roles = grantedRoles(claims);
  if (roles === undefined) {
    throw badResponse(WHAT, 'access_token carries no scp or scope claim');
  }
  const requested = spec.roles;
  if (requested !== undefined) {
    const extra = roles.filter((role) => !requested.includes(role));
    if (extra.length > 0) {
      throw badResponse(
        WHAT,
        `access_token carries roles that were not requested: ${extra.join(', ')}`,
      );
    }
  }
  return { exp: claims.exp, roles };
}

function grantedRoles(claims: JWTPayload): string[] | undefined {
  const scp = claims.scp;
  if (Array.isArray(scp) && scp.every((role): role is string => typeof role === 'string')) {
    return scp;
  }
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : undefined;
}
