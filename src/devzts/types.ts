// The public shape of the dev ZTS: options, the running handle and the request log entries.

import type { Logger } from '../logger.js';
import type { DevZtsPolicy } from './policy.js';

/** Which ZTS API a request was routed to; `unknown` for paths the dev ZTS does not serve. */
export type DevZtsEndpoint =
  'accessToken' | 'roleToken' | 'jwks' | 'publicKey' | 'status' | 'openidConfig' | 'unknown';

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
  /** From the client cert, when presented and valid. */
  principal?: string;
  /** Lower-case hex serial of the presented client cert, valid or not. */
  clientCertSerial?: string;
  /** Requested domain (lower-cased) when the endpoint has one. */
  domain?: string;
  /** Granted short role names, when a token was issued. */
  roles?: string[];
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
