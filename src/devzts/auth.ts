// Who is calling: the principal from a verified client certificate, the way Athenz's
// CertificateAuthority reads it (lower-cased CN, `<domain>.<service>`).

import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

import { isPrincipalName } from './policy.js';

export interface PeerIdentity {
  /** Set only for a cert that chains to the dev CA, is in date and names a principal. */
  principal?: string;
  /** Lower-case hex serial of whatever cert was presented. */
  serial?: string;
  /** The presented cert, for the access token's `cnf` binding. */
  cert?: X509Certificate;
}

export function peerIdentity(socket: TLSSocket, now = Date.now()): PeerIdentity {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) {
    return {};
  }
  const serial = cert.serialNumber.toLowerCase();

  // The handshake checked the chain; validity is checked again per request because a
  // keep-alive connection can outlive the cert it was opened with.
  const inDate = Date.parse(cert.validFrom) <= now && now < Date.parse(cert.validTo);
  const principal = commonName(cert)?.toLowerCase();
  if (!socket.authorized || !inDate || principal === undefined || !isPrincipalName(principal)) {
    return { serial };
  }
  return { principal, serial, cert };
}

function commonName(cert: X509Certificate): string | undefined {
  const line = cert.subject.split('\n').find((part) => part.startsWith('CN='));
  return line?.slice(3);
}
