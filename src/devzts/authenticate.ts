// Who is calling, decided like ZTS's Http.authenticate over its default authority list
// (zts.properties athenz.zts.authority_classes): PrincipalAuthority (N-token) first, then
// CertificateAuthority (mTLS). The first authority that accepts its credentials wins, so a valid
// N-token beats a valid client cert, and a bad N-token still lets a good cert through.

import type { X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

import { PRINCIPAL_AUTH_HEADER } from '../athenz/principal-token.js';
import type { PeerIdentity } from './auth.js';
import { authenticateNToken } from './principal-authority.js';
import type { PublicKeyIndex } from './principal-authority.js';
import type { DevZtsAuthority } from './types.js';

export interface Caller {
  /** `<domain>.<service>`, lower-cased. */
  principal: string;
  authority: DevZtsAuthority;
  /** The client cert, for the cert authority only: N-token callers get no `cnf` binding. */
  cert?: X509Certificate;
  /** A role-cert identity: the full role names (`<domain>:role.<role>`) it may act as. */
  roles?: readonly string[];
}

export interface Authentication {
  caller?: Caller;
  /** Credentials were presented and refused (no authority accepted them). */
  rejected: boolean;
  /** Why an N-token was refused, for the debug log. */
  ntokenError?: string;
}

const HEADER = PRINCIPAL_AUTH_HEADER.toLowerCase();

export function authenticate(
  headers: IncomingHttpHeaders,
  peer: PeerIdentity,
  keys: PublicKeyIndex,
): Authentication {
  const raw = headers[HEADER];
  const token = Array.isArray(raw) ? raw[0] : raw;
  let ntokenError: string | undefined;
  if (token !== undefined) {
    const result = authenticateNToken(token, keys);
    if ('principal' in result) {
      return { caller: { principal: result.principal, authority: 'ntoken' }, rejected: false };
    }
    ntokenError = result.error;
  }

  const { identity, cert } = peer;
  if (identity !== undefined && cert !== undefined) {
    return {
      caller: {
        principal: identity.principal,
        authority: 'cert',
        cert,
        ...(identity.roles === undefined ? {} : { roles: identity.roles }),
      },
      rejected: false,
    };
  }
  return {
    rejected: ntokenError !== undefined || peer.rejected,
    ...(ntokenError === undefined ? {} : { ntokenError }),
  };
}
