// Access tokens: POST /oauth2/token, checked before anything reaches disk.

import { decodeJwt } from 'jose';
import type { JWTPayload } from 'jose';

import type { AccessTokenSpec } from '../config/types.js';
import { badResponse } from '../zts/client.js';
import { accessTokenResponse } from '../zts/wire.js';
import type { AccessTokenResponse } from '../zts/wire.js';
import type { Credential, CredentialContext } from './credential.js';
import {
  checkRequestedRoles,
  checkValidity,
  grantedLifetime,
  readIfPresent,
  restoredCredential,
} from './issued.js';
import type { IssuedCredential, Validity } from './issued.js';

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
      const window = { requestedAt, receivedAt: Date.now() };
      if (response.expires_in !== undefined && response.expires_in <= 0) {
        throw badResponse(WHAT, `expires_in is ${response.expires_in}, not a lifetime`);
      }
      const checked = checkAccessToken(spec, response, window, true);
      const content = spec.format === 'jwt' ? response.access_token : JSON.stringify(response);
      return {
        files: [output(spec, content)],
        expiresAt: checked.expiresAt,
        issuedAt: requestedAt,
        lifetimeMs: grantedLifetime(
          requestedAt,
          checked.expiresAt,
          response.expires_in === undefined ? undefined : response.expires_in * 1000,
        ),
        details: { roles: checked.roles },
        skewMs: checked.skewMs,
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
        const now = Date.now();
        const checked = checkAccessToken(
          spec,
          response,
          { requestedAt: now, receivedAt: now },
          false,
        );
        if (!(await boundToCurrentIdentity(response.access_token, context))) {
          return undefined;
        }
        return await restoredCredential([output(spec, text)], checked.expiresAt, {
          roles: checked.roles,
        });
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * A token fetched over mTLS is bound to that certificate (`cnf`). One left by a previous run may
 * be bound to a certificate that has since been rotated: that one is not adopted.
 */
async function boundToCurrentIdentity(jwt: string, context: CredentialContext): Promise<boolean> {
  const bound = (decodeJwt(jwt).cnf as Record<string, unknown> | undefined)?.['x5t#S256'];
  const files = context.fileIdentity;
  if (bound === undefined || files === undefined) {
    return true;
  }
  await files.dispatcher().catch(() => undefined);
  const current = files.current;
  return current === undefined || current.thumbprint === bound;
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
  window: { requestedAt: number; receivedAt: number },
  /** Whether `iat` can be compared with the request time (not for a token read from disk). */
  fresh: boolean,
): Validity & { roles: string[] } {
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
  const validity = checkValidity(
    WHAT,
    'access_token',
    { expiresAtS: claims.exp, ...(fresh ? { issuedAtS: claims.iat } : {}) },
    window,
  );
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
  checkRequestedRoles(WHAT, 'access_token', spec.roles, roles);
  return { ...validity, roles };
}

function grantedRoles(claims: JWTPayload): string[] | undefined {
  const scp = claims.scp;
  if (Array.isArray(scp) && scp.every((role): role is string => typeof role === 'string')) {
    return scp;
  }
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : undefined;
}
