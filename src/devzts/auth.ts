// The client certificate as Athenz's CertificateAuthority reads it (CertificateIdentityParser):
// the principal is the lower-cased CN `<domain>.<service>`, except in a role certificate, whose CN
// is `<domain>:role.<role>` and whose principal comes from the SAN URI athenz://principal/<p> or,
// failing that, the one SAN email's local part.

import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

import { isPrincipalName } from './policy.js';
import { PRINCIPAL_URI, certSans, uriItem } from './san.js';

export interface CertIdentity {
  principal: string;
  /** Set for a role certificate: its CN, the one full role name it stands for. */
  roles?: string[];
}

export interface PeerIdentity {
  /** Lower-case hex serial of whatever cert was presented. */
  serial?: string;
  /** Set only for a cert that chains to the dev CA, is in date and names a principal. */
  identity?: CertIdentity;
  /** The usable cert behind `identity`, for `cnf` binding and instance checks. */
  cert?: X509Certificate;
  /**
   * A trusted cert was presented but is unusable (expired, or no valid principal): the
   * credentials were tried and failed, which matters on routes where authentication is optional.
   */
  rejected: boolean;
}

const ROLE_SEP = ':role.';

export function peerIdentity(socket: TLSSocket, now = Date.now()): PeerIdentity {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) {
    return { rejected: false };
  }
  const serial = cert.serialNumber.toLowerCase();
  // A cert from another CA stands for a failed handshake: as if none had been presented.
  if (!socket.authorized) {
    return { serial, rejected: false };
  }

  // The handshake checked the chain; validity is checked again per request because a
  // keep-alive connection can outlive the cert it was opened with.
  const inDate = Date.parse(cert.validFrom) <= now && now < Date.parse(cert.validTo);
  const identity = inDate ? certIdentity(cert) : undefined;
  if (identity === undefined) {
    return { serial, rejected: true };
  }
  return { serial, identity, cert, rejected: false };
}

function certIdentity(cert: X509Certificate): CertIdentity | undefined {
  const cn = commonName(cert);
  if (cn === undefined || cn === '') {
    return undefined;
  }
  if (!cn.includes(ROLE_SEP)) {
    const principal = cn.toLowerCase();
    return isPrincipalName(principal) ? { principal } : undefined;
  }
  const principal = rolePrincipal(cert)?.toLowerCase();
  return principal !== undefined && isPrincipalName(principal)
    ? { principal, roles: [cn] }
    : undefined;
}

/** AthenzUtils.extractRolePrincipal: the principal URI, else the single email's local part. */
function rolePrincipal(cert: X509Certificate): string | undefined {
  const sans = certSans(cert.raw);
  const fromUri = uriItem(sans.uris, PRINCIPAL_URI);
  if (fromUri !== undefined) {
    return fromUri;
  }
  const [email, ...others] = sans.emails;
  if (email === undefined || others.length > 0) {
    return undefined;
  }
  const at = email.indexOf('@');
  return at > 0 ? email.slice(0, at) : undefined;
}

function commonName(cert: X509Certificate): string | undefined {
  const line = cert.subject.split('\n').find((part) => part.startsWith('CN='));
  return line?.slice(3);
}
