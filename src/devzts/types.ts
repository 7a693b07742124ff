// The public shape of the dev ZTS: options, the running handle and the request log entries.

import type { Logger } from '../logger.js';
import type { DevZtsPolicy } from './policy.js';

/** Which ZTS API a request was routed to; `unknown` for paths the dev ZTS does not serve. */
export type DevZtsEndpoint =
  | 'accessToken'
  | 'roleToken'
  | 'roleCert'
  | 'roleCertLegacy'
  | 'instanceRegister'
  | 'instanceRefresh'
  | 'instanceDelete'
  | 'caCerts'
  | 'jwks'
  | 'publicKey'
  | 'status'
  | 'openidConfig'
  | 'unknown';

/** Which authority authenticated the caller: mTLS client cert or N-token (Athenz-Principal-Auth). */
export type DevZtsAuthority = 'cert' | 'ntoken';

export interface DevZtsOptions {
  /** Created if missing; holds the CA, server cert, client certs and signing key. */
  stateDir: string;
  policy: DevZtsPolicy;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** `iss` of access tokens. ZTS defaults it to its bare host name, not a URL. */
  issuer?: string;
  /**
   * `athenz.zts.cert_dns_suffix`: comma-separated suffixes a role CSR's SAN email must end with.
   * Beats the policy's `certDnsSuffix`; the default is `athenz.cloud`.
   */
  certDnsSuffix?: string;
  /** One debug line per request (method, path, status, principal); never a token or key. */
  logger?: Logger;
}

export interface DevZtsIdentityFiles {
  certFile: string;
  keyFile: string;
}

export interface DevZtsRequest {
  /** Date.now() when the response was sent. */
  at: number;
  method: string;
  /** Without the query. */
  path: string;
  endpoint: DevZtsEndpoint;
  status: number;
  /** The authenticated principal (client cert or N-token), when credentials were valid. */
  principal?: string;
  /** The authority that authenticated `principal`. */
  authority?: DevZtsAuthority;
  /** Lower-case hex serial of the presented client cert, valid or not. */
  clientCertSerial?: string;
  /** Requested domain (lower-cased) when the endpoint has one. */
  domain?: string;
  /** Granted short role names, when a token or role cert was issued. */
  roles?: string[];
  /** The `expiryTime` a cert request asked for, in minutes, as sent. */
  requestedExpiryMins?: number;
  /** The instance id of an instance register/refresh/delete request. */
  instanceId?: string;
  /** `jti` of the access token issued, so tests can tell which request a token came from. */
  tokenId?: string;
}

export interface DevZts {
  /** e.g. `https://127.0.0.1:40123/zts/v1`. */
  readonly url: string;
  readonly port: number;
  /** PEM of the dev CA: trust anchor for the server cert and issuer of the client certs. */
  readonly caFile: string;
  /** `${url}/oauth2/keys?rfc=true`. */
  readonly jwksUrl: string;
  /** The identity created at start for a principal listed in `policy.services`. */
  clientIdentity(principal: string): DevZtsIdentityFiles;
  /** Writes a new cert and key for the principal into a fresh file pair, for rotation tests. */
  issueClientIdentity(
    principal: string,
    opts?: { validityMs?: number },
  ): Promise<DevZtsIdentityFiles & { serial: string }>;
  /** Every request received, in order. */
  readonly requests: DevZtsRequest[];
  /** Completed TLS handshakes. */
  readonly handshakes: number;
  /** Client connections open right now (TCP level, keep-alive included). */
  readonly openConnections: number;
  /** Swaps the policy at run time; validated like the file. */
  setPolicy(policy: DevZtsPolicy): void;
  /** Stops listening and destroys every open socket; resolves once closed. */
  close(): Promise<void>;
}
