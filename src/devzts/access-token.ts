// POST /oauth2/token: OAuth2 client-credentials access tokens (ZTSImpl.postAccessTokenRequest),
// ES256 JWTs bound to the caller's client cert. Checks run in the upstream order, so a request
// with several faults gets the status ZTS would give it.

import { createHash, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

import { requireCaller } from './context.js';
import type { RequestContext } from './context.js';
import { ZtsHttpError, badRequest, jsonReply } from './http.js';
import type { Reply } from './http.js';
import { tokenTimes } from './issuance.js';
import type { TokenTimes } from './issuance.js';
import { determineTokenTimeout } from './lifetime.js';
import { roleCertCovers, tokenErrorMessage } from './role-token.js';
import { parseAccessTokenScope } from './scope.js';
import { parseAccessTokenForm } from './token-form.js';
import type { AccessTokenForm } from './token-form.js';
import { validate } from './validate.js';

/** `athenz.zts.max_authz_details_length`. */
const MAX_AUTHZ_DETAILS_LENGTH = 1024;

export async function postAccessToken(ctx: RequestContext): Promise<Reply> {
  const caller = requireCaller(ctx);
  const { principal } = caller;
  const body = (await ctx.body()).toString('utf8');
  if (body === '') {
    throw badRequest('Empty request body');
  }

  const form = parseAccessTokenForm(body, principal);
  if (form.grantType !== 'client_credentials') {
    throw badRequest(`Invalid grant request: ${form.grantType ?? 'null'}`);
  }
  if (form.scope === undefined || form.scope === '') {
    throw badRequest('Invalid request: no scope provided');
  }
  const scope = parseAccessTokenScope(form.scope);
  const { domain } = scope;
  ctx.note.domain = domain;
  validate(domain, 'DomainName');
  for (const role of scope.roles ?? []) {
    validate(role, 'EntityName');
  }

  const { domains } = ctx.runtime;
  if (!domains.hasDomain(domain)) {
    throw new ZtsHttpError(404, `No such domain: ${domain}`);
  }
  checkAuthorizationDetails(form.authorizationDetails);

  const roles = domains.accessibleRoles(domain, principal, scope.roles);
  if (roles.length === 0) {
    throw new ZtsHttpError(
      403,
      tokenErrorMessage('postaccesstokenrequest', principal, domain, scope.roles),
    );
  }
  if (!roleCertCovers(caller, domain, roles)) {
    throw new ZtsHttpError(403, 'Role based Principal does not include all roles');
  }
  ctx.note.roles = roles;

  const timeout = determineTokenTimeout(
    { maxExpiryTime: form.expiresIn },
    domains.expiryCapSeconds(domain, roles),
  );
  const times = tokenTimes(ctx.issuance, timeout);
  const accessToken = await signAccessToken(ctx, principal, domain, roles, times, form);

  // The granted scope is echoed only for `:domain` requests or when fewer roles were granted
  // than asked; clients must then read it (or `scp`) instead of assuming their request.
  const partial = scope.roles !== undefined && scope.roles.length !== roles.length;
  return jsonReply({
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: times.lifetime,
    ...(scope.sendScopeResponse || partial
      ? { scope: roles.map((role) => `${domain}:role.${role}`).join(' ') }
      : {}),
  });
}

async function signAccessToken(
  ctx: RequestContext,
  principal: string,
  domain: string,
  roles: string[],
  times: TokenTimes,
  form: AccessTokenForm,
): Promise<string> {
  const { signer } = ctx.runtime.state;
  const iat = times.issuedAt;
  const [onlyRole] = roles;
  const audience =
    form.roleInAudClaim && roles.length === 1 && onlyRole !== undefined
      ? `${domain}:${onlyRole}`
      : domain;

  // `cnf` binds the token to the mTLS cert: base64url SHA-256 over the DER (RFC 8705). An N-token
  // caller has no cert, so its token carries no `cnf`.
  const cert = ctx.caller?.cert;
  const cnf =
    cert === undefined
      ? undefined
      : {
          'x5t#S256': createHash('sha256').update(cert.raw).digest('base64url'),
          ...(form.proxyPrincipalSpiffeUris === undefined
            ? {}
            : { 'proxy-principals#spiffe': form.proxyPrincipalSpiffeUris }),
        };

  const jti = randomUUID();
  // Tests match tokens on disk to the request that issued them by this id.
  ctx.note.tokenId = jti;
  return new SignJWT({
    ver: 1,
    auth_time: iat,
    uid: principal,
    client_id: principal,
    scp: roles,
    scope: roles.join(' '),
    ...(cnf === undefined ? {} : { cnf }),
  })
    .setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'at+jwt' })
    .setIssuer(form.openIdIssuer ? ctx.runtime.openIdIssuer : ctx.runtime.issuer)
    .setAudience(audience)
    .setSubject(principal)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(times.tokenExpiry)
    .sign(signer.privateKey);
}

/** The dev ZTS configures no authorization-details entities, so any RAR request is refused. */
function checkAuthorizationDetails(details: string | undefined): void {
  if (details === undefined || details === '') {
    return;
  }
  if (details.length > MAX_AUTHZ_DETAILS_LENGTH) {
    throw badRequest('Authorization Details exceeds configured length limit');
  }
  throw badRequest('Authorization Details not valid for this request');
}
