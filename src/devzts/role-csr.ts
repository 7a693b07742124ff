// Role certificate CSR rules (X509RoleCertRequest + ZTSImpl.validateRoleCertificateRequest):
//
//   CN     `<domain>:role.<role>`, else the CSR does not parse as a role request
//   proof  SAN URI athenz://principal/<p> equal to the caller (case-insensitive), and/or SAN
//          email `<p>@...`; if any email is present there must be exactly one, it must start with
//          `<caller>@` and end with one of the cert_dns_suffix values (a plain endsWith, as
//          upstream compares it); at least one proof is needed
//   SPIFFE at most one (enforced when parsing); spiffe://<domain>/ra/<role> or
//          spiffe://athenz.io/ns/<domain>/ra/<role> (SpiffeUriBasic, SpiffeUriTrustDomain)
//   mTLS   an athenz://hostname/ URI or an instance id must match the caller's own cert
//
// SAN DNS names are only logged upstream unless validate_role_cert_dns_names is on (off by
// default), and O/OU/IP checks are off by default, so the dev ZTS does not check them.

import type { X509Certificate } from 'node:crypto';

import { COMPOUND_NAME, isDomainName } from '../athenz/names.js';
import { CsrError } from './csr.js';
import type { ParsedCsr } from './csr.js';
import { HOSTNAME_URI, PRINCIPAL_URI, certSans, instanceIdOf, uriItem } from './san.js';

/** `athenz.zts.spiffe_trust_domain` default. */
export const SPIFFE_TRUST_DOMAIN = 'athenz.io';

const ROLE_SEP = ':role.';

export interface RequestedRole {
  /** As written in the CN; lower-case them before looking them up. */
  domain: string;
  role: string;
}

/**
 * X509RoleCertRequest's constructor: the role the CN asks for. The dev ZTS also holds both parts
 * to the name grammar here; upstream would only fail later, on the domain or role lookup.
 */
export function requestedRole(csr: ParsedCsr): RequestedRole {
  const cn = csr.cn ?? '';
  const at = cn.indexOf(ROLE_SEP);
  const domain = cn.slice(0, at);
  const role = cn.slice(at + ROLE_SEP.length);
  if (at <= 0 || !isDomainName(domain) || !COMPOUND_NAME.test(role)) {
    throw new CsrError(`Role Certificate CN is not a valid role: ${cn}`);
  }
  return { domain, role };
}

/** Why the CSR fails validation (for the debug log), or undefined when it passes. */
export function roleCsrProblem(
  csr: ParsedCsr,
  principal: string,
  callerCert: X509Certificate | undefined,
  emailSuffixes: readonly string[],
): string | undefined {
  const problem = principalProblem(csr, principal, emailSuffixes);
  if (problem !== undefined) {
    return problem;
  }
  const { domain, role } = requestedRole(csr);
  if (csr.spiffeUri !== undefined && !spiffeMatches(csr.spiffeUri, domain, role)) {
    return `spiffe uri mismatch: ${csr.spiffeUri}`;
  }
  return mtlsProblem(csr, callerCert);
}

function principalProblem(
  csr: ParsedCsr,
  principal: string,
  emailSuffixes: readonly string[],
): string | undefined {
  const rolePrincipal = uriItem(csr.uris, PRINCIPAL_URI);
  if (rolePrincipal !== undefined && rolePrincipal !== '') {
    if (rolePrincipal.toLowerCase() !== principal.toLowerCase()) {
      return `role principal mismatch ${principal} vs ${rolePrincipal}`;
    }
    if (csr.emails.length === 0) {
      return undefined;
    }
  }
  const [email, ...others] = csr.emails;
  if (email === undefined || others.length > 0) {
    return `csr has incorrect number of emails: ${csr.emails.length}`;
  }
  const suffixOk = emailSuffixes.some((suffix) => email.endsWith(suffix));
  if (!email.startsWith(`${principal}@`) || !suffixOk) {
    return `unable to validate email ${email}`;
  }
  return undefined;
}

function spiffeMatches(uri: string, domain: string, role: string): boolean {
  const wanted = [
    `spiffe://${SPIFFE_TRUST_DOMAIN}/ns/${domain}/ra/${role}`,
    `spiffe://${domain}/ra/${role}`,
  ];
  return wanted.some((candidate) => candidate.toLowerCase() === uri.toLowerCase());
}

/** The CSR may only repeat the caller's own hostname and instance id (N-token callers have none). */
function mtlsProblem(csr: ParsedCsr, callerCert: X509Certificate | undefined): string | undefined {
  if (csr.uriHostname === undefined && csr.instanceId === undefined) {
    return undefined;
  }
  const sans = callerCert === undefined ? undefined : certSans(callerCert.raw);
  if (csr.uriHostname !== undefined && csr.uriHostname !== '') {
    const certHostname = sans === undefined ? undefined : uriItem(sans.uris, HOSTNAME_URI);
    if (csr.uriHostname !== certHostname) {
      return `unable to validate uri hostname: ${csr.uriHostname}`;
    }
  }
  if (csr.instanceId !== undefined && csr.instanceId !== '') {
    const certInstanceId = sans === undefined ? undefined : instanceIdOf(sans);
    if (csr.instanceId !== certInstanceId) {
      return `unable to match request id: ${csr.instanceId} with cert id: ${certInstanceId ?? 'none'}`;
    }
  }
  return undefined;
}
