// GET /domain/{domainName}/token: Z1 role tokens (ZTSImpl.getRoleToken), signed with the ZTS key
// so clients verify them against /domain/sys.auth/service/zts/publickey/{k}.

import { randomBytes } from 'node:crypto';

import { unsignedRoleToken } from '../athenz/role-token.js';
import { signToken } from '../athenz/signed-token.js';
import type { Caller } from './authenticate.js';
import { requireCaller } from './context.js';
import type { RequestContext } from './context.js';
import { ZtsHttpError, jsonReply } from './http.js';
import type { Reply } from './http.js';
import { tokenTimes } from './issuance.js';
import { determineTokenTimeout } from './lifetime.js';
import { parseJavaInt } from './params.js';
import { validate } from './validate.js';

/** Query parameters typed Integer in the RDL; the router answers 404 when they do not parse. */
export const ROLE_TOKEN_INT_PARAMS = ['minExpiryTime', 'maxExpiryTime'] as const;

export function getRoleToken(ctx: RequestContext): Reply {
  const caller = requireCaller(ctx);
  const { principal } = caller;
  const domainParam = ctx.params.domainName;
  validate(domainParam, 'DomainName');
  const roleParam = nonEmpty(ctx.query.get('role'));
  if (roleParam !== undefined) {
    validate(roleParam, 'EntityList');
  }
  const proxy = nonEmpty(ctx.query.get('proxyForPrincipal'));
  if (proxy !== undefined) {
    validate(proxy, 'EntityName');
  }

  const domain = domainParam.toLowerCase();
  ctx.note.domain = domain;
  if (proxy !== undefined) {
    // No `authorized_proxy_users` in the dev ZTS.
    throw new ZtsHttpError(
      403,
      `getRoleToken: Principal: ${principal} not authorized for proxy role token request`,
    );
  }
  const { domains, hostName, state } = ctx.runtime;
  if (!domains.hasDomain(domain)) {
    throw new ZtsHttpError(404, `getRoleToken: No such domain: ${domain}`);
  }

  const requested = roleParam?.toLowerCase().split(',');
  const roles = domains.accessibleRoles(domain, principal, requested);
  if (roles.length === 0) {
    throw new ZtsHttpError(403, tokenErrorMessage('getroletoken', principal, domain, requested));
  }
  if (!roleCertCovers(caller, domain, roles)) {
    throw new ZtsHttpError(403, 'getRoleToken: Role based Principal does not include all roles');
  }
  ctx.note.roles = roles;

  const timeout = determineTokenTimeout(
    {
      minExpiryTime: intParam(ctx, 'minExpiryTime'),
      maxExpiryTime: intParam(ctx, 'maxExpiryTime'),
    },
    domains.expiryCapSeconds(domain, roles),
  );
  const times = tokenTimes(ctx.issuance, timeout);
  const unsigned = unsignedRoleToken({
    domain,
    roles,
    // `athenz.zts.role_complete_flag`: the token holds every role when none was named.
    complete: requested === undefined,
    principal,
    host: hostName,
    salt: randomBytes(8).toString('hex'),
    issuedAt: times.issuedAt,
    expiresAt: times.tokenExpiry,
    keyId: state.signer.kid,
    ip: ctx.clientIp,
  });
  return jsonReply({
    token: signToken(unsigned, state.signer.privateKey),
    expiryTime: times.responseExpiry,
  });
}

/** ZTSImpl.tokenErrorMessage: the 403 text for a caller without any of the roles. */
export function tokenErrorMessage(
  caller: string,
  principal: string,
  domain: string,
  requested: readonly string[] | undefined,
): string {
  const roles = requested === undefined ? 'any role' : 'the requested role(s)';
  return `${caller}: principal ${principal} is not included in ${roles} in domain ${domain}`;
}

/**
 * ZTSImpl.isPrincipalRoleCertificateAccessValid: a role-cert caller only gets the roles its cert
 * names; every other caller passes.
 */
export function roleCertCovers(caller: Caller, domain: string, roles: readonly string[]): boolean {
  const held = caller.roles;
  return held === undefined || roles.every((role) => held.includes(`${domain}:role.${role}`));
}

function intParam(ctx: RequestContext, name: string): number | undefined {
  const text = nonEmpty(ctx.query.get(name));
  return text === undefined ? undefined : parseJavaInt(text);
}

/** ZTSImpl.convertEmptyStringToNull: an empty parameter counts as absent. */
function nonEmpty(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}
