// Role tokens: GET /domain/{domain}/token, checked before anything reaches disk.

import { parseRoleToken } from '../athenz/role-token.js';
import type { RoleTokenSpec } from '../config/types.js';
import { badResponse } from '../zts/client.js';
import type { Credential, CredentialContext } from './credential.js';
import {
  checkRequestedRoles,
  checkValidity,
  grantedLifetime,
  readIfPresent,
  restoredCredential,
} from './issued.js';

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
      const window = { requestedAt, receivedAt: Date.now() };
      const { claims, validity } = checkRoleToken(spec, response.token, what, window, true);
      // The token's own e= and the answer's expiryTime should agree; trust the earlier one.
      const stated = checkValidity(
        what,
        'expiryTime',
        { expiresAtS: response.expiryTime - validity.skewMs / 1000 },
        window,
      );
      const expiresAt = Math.min(validity.expiresAt, stated.expiresAt);
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
        skewMs: validity.skewMs,
      };
    },
    async restore() {
      const token = (await readIfPresent(spec.file))?.toString('utf8');
      if (token === undefined) {
        return undefined;
      }
      try {
        const now = Date.now();
        const { claims, validity } = checkRoleToken(
          spec,
          token,
          what,
          { requestedAt: now, receivedAt: now },
          false,
        );
        return await restoredCredential([output(spec, token)], validity.expiresAt, {
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

function checkRoleToken(
  spec: RoleTokenSpec,
  token: string,
  what: string,
  window: { requestedAt: number; receivedAt: number },
  fresh: boolean,
) {
  const claims = SIGNED_TOKEN.test(token) ? parseRoleToken(token) : undefined;
  if (claims === undefined) {
    throw badResponse(what, 'token is not a well-formed, signed Z1 role token');
  }
  const validity = checkValidity(
    what,
    'token',
    { expiresAtS: claims.expiresAt, ...(fresh ? { issuedAtS: claims.issuedAt } : {}) },
    window,
  );
  if (claims.roles.length === 0 || claims.roles.includes('')) {
    throw badResponse(what, 'token carries no roles');
  }
  if (claims.domain !== spec.domain) {
    throw badResponse(what, `token is for domain ${claims.domain}, not ${spec.domain}`);
  }
  checkRequestedRoles(what, 'token', spec.roles, claims.roles);
  return { claims, validity };
}

function output(spec: RoleTokenSpec, token: string) {
  return {
    path: spec.file,
    content: Buffer.from(token, 'utf8'),
    mode: spec.mode,
    groupId: spec.groupId,
  };
}
