// Role certificates: POST /rolecert (ZTSImpl.postRoleCertificateRequestExt, answers
// RoleCertificate) and the deprecated POST /domain/{d}/role/{r}/token (postRoleCertificateRequest,
// answers RoleToken with the PEM as `token`). Both run processRoleCertificateRequest's checks in
// its order: service identity, proxy, domain (404), membership (403), CSR rules (400), lifetime.

import { X509Certificate } from 'node:crypto';

import { roleCertLifetimeMs } from './cert-lifetime.js';
import { requireServiceIdentity } from './context.js';
import type { RequestContext } from './context.js';
import { CsrError, parseCsr } from './csr.js';
import type { ParsedCsr } from './csr.js';
import { signCsr } from './csr-signer.js';
import { ZtsHttpError, badRequest, jsonReply } from './http.js';
import type { Reply } from './http.js';
import { certTimes } from './issuance.js';
import { readRoleCertificateRequest } from './json-body.js';
import type { RoleCertificateRequest } from './json-body.js';
import { tokenErrorMessage } from './role-token.js';
import { requestedRole, roleCsrProblem } from './role-csr.js';
import { validate } from './validate.js';

export async function postRoleCert(ctx: RequestContext): Promise<Reply> {
  const req = readRoleCertificateRequest(await ctx.body());
  ctx.note.requestedExpiryMins = req.expiryTime;
  const csr = await parseRoleCsr(req.csr);
  const pem = await issueRoleCert(ctx, csr, req, 'postrolecertificaterequestext');
  return jsonReply({ x509Certificate: pem });
}

export async function postRoleCertLegacy(ctx: RequestContext): Promise<Reply> {
  const { domainName, roleName } = ctx.params;
  validate(domainName, 'DomainName');
  validate(roleName, 'EntityName');
  const req = readRoleCertificateRequest(await ctx.body());
  ctx.note.requestedExpiryMins = req.expiryTime;
  ctx.note.domain = domainName.toLowerCase();

  const csr = await parseRoleCsr(req.csr);
  // The CN is compared as written against the lower-cased path, as upstream does.
  const fullRoleName = `${domainName.toLowerCase()}:role.${roleName.toLowerCase()}`;
  if (csr.cn !== fullRoleName) {
    throw badRequest(`Role Certificate Request mismatch: ${csr.cn ?? ''}/${fullRoleName}`);
  }
  const pem = await issueRoleCert(ctx, csr, req, 'postrolecertificaterequest');
  const notAfter = Date.parse(new X509Certificate(pem).validTo);
  return jsonReply({ token: pem, expiryTime: Math.floor(notAfter / 1000) });
}

async function parseRoleCsr(pem: string): Promise<ParsedCsr> {
  try {
    const csr = await parseCsr(pem);
    requestedRole(csr);
    return csr;
  } catch (error) {
    if (error instanceof CsrError) {
      throw badRequest(`Unable to parse PKCS10 CSR: ${error.message}`);
    }
    throw error;
  }
}

async function issueRoleCert(
  ctx: RequestContext,
  csr: ParsedCsr,
  req: RoleCertificateRequest,
  caller: string,
): Promise<string> {
  const identity = requireServiceIdentity(ctx);
  const { principal } = identity;
  // ZMS stores names lower-cased; the issued cert keeps the CN exactly as requested.
  const wanted = requestedRole(csr);
  const domain = wanted.domain.toLowerCase();
  const role = wanted.role.toLowerCase();
  ctx.note.domain = domain;

  // No `authorized_proxy_users` in the dev ZTS.
  if (req.proxyForPrincipal !== undefined) {
    throw new ZtsHttpError(
      403,
      `Principal: ${principal} not authorized for proxy role certificate request`,
    );
  }
  const { domains, certDnsSuffixes, state } = ctx.runtime;
  if (!domains.hasDomain(domain)) {
    throw new ZtsHttpError(404, `No such domain: ${domain}`);
  }
  const roles = domains.accessibleRoles(domain, principal, [role]);
  if (roles.length === 0) {
    throw new ZtsHttpError(403, tokenErrorMessage(caller, principal, domain, [role]));
  }

  const problem = roleCsrProblem(csr, principal, identity.cert, certDnsSuffixes);
  if (problem !== undefined) {
    ctx.note.detail = problem;
    throw badRequest('Unable to validate cert request');
  }
  ctx.note.roles = roles;

  const lifetimeMs = roleCertLifetimeMs(domains.roleCertCapMs(domain, roles), req.expiryTime);
  const times = certTimes(ctx.issuance, lifetimeMs);
  const cert = await signCsr(state.ca, csr, 'client', times.lifetimeMs, times.now);
  return cert.toString('pem');
}
