// Access tokens: POST /oauth2/token, checked before anything reaches disk.

import { decodeJwt } from 'jose';
import type { JWTPayload } from 'jose';

import type { AccessTokenSpec } from '../config/types.js';
import { badResponse } from '../zts/client.js';
import { accessTokenResponse } from '../zts/wire.js';
import type { AccessTokenResponse } from '../zts/wire.js';
import type { Credential, CredentialContext } from './credential.js';
import { checkValidity, grantedLifetime, readIfPresent, restoredCredential } from './issued.js';
import type { IssuedCredential } from './issued.js';

const WHAT = 'POST /oauth2/token';

export function accessTokenCredential(
  spec: AccessTokenSpec,
  context: CredentialContext,
): Credential {
  return {
    spec,
    async fetch(signal) {
      const requestedAt = Date.now();
      const response = await context.zts.accessToken(
        { domain: spec.domain, roles: spec.roles, expiresInSec: spec.expiresInSec },
        signal,
      );
      if (response.expires_in !== undefined && response.expires_in <= 0) {
        throw badResponse(WHAT, `expires_in is ${response.expires_in}, not a lifetime`);
      }
      const claims = checkAccessToken(spec, response, requestedAt);
      const expiresAt = claims.exp * 1000;
      const content = spec.format === 'jwt' ? response.access_token : JSON.stringify(response);
      return {
        files: [output(spec, content)],
        expiresAt,
        issuedAt: requestedAt,
        lifetimeMs: grantedLifetime(
          requestedAt,
          expiresAt,
          response.expires_in === undefined ? undefined : response.expires_in * 1000,
        ),
        details: { roles: claims.roles },
      };
    },
    async restore(): Promise<IssuedCredential | undefined> {
      const text = (await readIfPresent(spec.file))?.toString('utf8');
      if (text === undefined) {
        return undefined;
      }
      try {
        const response =
          spec.format === 'jwt'
            ? { access_token: text, token_type: 'Bearer' }
            : accessTokenResponse.parse(JSON.parse(text));
        const claims = checkAccessToken(spec, response, Date.now());
        return await restoredCredential([output(spec, text)], claims.exp * 1000, {
          roles: claims.roles,
        });
      } catch {
        return undefined;
      }
    },
  };
}

function output(spec: AccessTokenSpec, content: string) {
  return {
    path: spec.file,
    content: Buffer.from(content, 'utf8'),
    mode: spec.mode,
    groupId: spec.groupId,
  };
}

/**
 * Refuses tokens that do not answer the request: not a JWT, another domain, roles that were not
 * asked for, already expired. ZTS may grant fewer roles than asked; that token is still useful.
 */
export function checkAccessToken(
  spec: AccessTokenSpec,
  response: Pick<AccessTokenResponse, 'access_token' | 'token_type'>,
  now: number,
): { exp: number; roles: string[] } {
  if (response.token_type.toLowerCase() !== 'bearer') {
    throw badResponse(WHAT, `token_type is ${JSON.stringify(response.token_type)}, not Bearer`);
  }
  // Three base64url segments and nothing else: no whitespace, no trailing bytes.
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(response.access_token)) {
    throw badResponse(WHAT, 'access_token is not a compact JWT');
  }
  let claims: JWTPayload;
  try {
    claims = decodeJwt(response.access_token);
  } catch (error) {
    throw badResponse(WHAT, 'access_token is not a JWT', undefined, error);
  }
  checkValidity(WHAT, 'access_token', claims.iat, claims.exp, now);
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  if (!audiences.includes(spec.domain)) {
    throw badResponse(
      WHAT,
      `access_token is for ${JSON.stringify(claims.aud)}, not ${spec.domain}`,
    );
  }
  const roles = grantedRoles(claims);
  if (roles === undefined || roles.length === 0) {
    throw badResponse(WHAT, 'access_token carries no roles (scp and scope are missing or empty)');
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
  return { exp: claims.exp as number, roles };
}

function grantedRoles(claims: JWTPayload): string[] | undefined {
  const scp = claims.scp;
  if (Array.isArray(scp) && scp.every((role): role is string => typeof role === 'string')) {
    return scp;
  }
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : undefined;
}
