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

/** A way for the dev ZTS to misbehave, injected at run time through `DevZts.faults`. */
export type DevZtsFault =
  /**
   * Answer with this status and ZTS's `{code, message}` body instead of handling the request.
   * `message` defaults to the status text (503: 'Service Unavailable'); ZTS in read-only mode
   * answers 400 with READ_ONLY_MESSAGE (exported by index.ts).
   */
  | { kind: 'status'; status: number; message?: string }
  /** Wait this long before handling the request normally (or before applying `then`). */
  | { kind: 'delay'; ms: number; then?: DevZtsFault }
  /** Destroy the socket without any response; the request is not handled. */
  | { kind: 'close' }
  /**
   * Answer 200 with exactly this body (Content-Type application/json). The request is handled
   * normally first, so credentials are really issued and logged; the function form receives the
   * normal answer's parsed JSON and returns the text to send instead.
   */
  | { kind: 'body'; body: string | ((normal: unknown) => string) }
  /**
   * Handle normally, then send the headers with the whole body's Content-Length but only the
   * first `bytes` bytes of the body, then close the connection.
   */
  | { kind: 'truncate'; bytes: number }
  /**
   * Issued credentials live this many seconds (access token `exp`/`expires_in`, role token
   * `e=`/`expiryTime`, cert notAfter), whatever was asked and whatever the policy says.
   */
  | { kind: 'lifetime'; seconds: number }
  /**
   * Access tokens: the JWT's `exp` is shifted by this many seconds while `expires_in` stays the
   * true lifetime. Role tokens: `e=` is shifted while `expiryTime` is not. Certs: no effect.
   */
  | { kind: 'expSkew'; seconds: number }
  /**
   * The server's clock is off by this many seconds for everything it issues: `iat`/`exp`,
   * `t=`/`e=`/`expiryTime`, notBefore/notAfter all move together; durations do not change.
   */
  | { kind: 'clockSkew'; seconds: number };

/** Which requests a fault entry applies to, besides its endpoint. */
export interface DevZtsFaultMatch {
  /** The requested domain (case-insensitive). */
  domain?: string;
  /** At least one of these short role names was requested (case-insensitive). */
  roles?: string[];
}

export interface DevZtsFaultOptions {
  /** Apply to this many matching requests, then clear the entry. */
  times?: number;
  match?: DevZtsFaultMatch;
}

/**
 * Run-time fault injection. Entries are keyed by endpoint and match; for each request the most
 * specific applicable entry wins: endpoint+match, then endpoint, then '*'+match, then '*' (among
 * several applicable match entries on one key level, the one set last).
 */
export interface DevZtsFaults {
  /**
   * Applies `fault` to every request routed to `endpoint` ('*': every endpoint, unknown paths
   * included), replacing the entry with the same endpoint and match; `undefined` removes that
   * entry. `match` compares the requested domain and role names (access tokens: the roles named
   * in the scope; role tokens: the `role` query; role certs: the CSR's role), worked out before
   * the request is handled; a request naming no role (all roles) never matches `roles`.
   */
  set(
    endpoint: DevZtsEndpoint | '*',
    fault: DevZtsFault | undefined,
    options?: DevZtsFaultOptions,
  ): void;
  /** Removes every fault entry and stops stalling handshakes. */
  clear(): void;
  /**
   * While on, new TCP connections are accepted but their TLS handshake never completes (the
   * ClientHello is read and dropped); connections made before are unaffected. Turning it off lets
   * new connections through again; stalled sockets stay stalled until close().
   */
  stallHandshakes(on: boolean): void;
}

export interface DevZtsOptions {
  /** Created if missing; holds the CA, server cert, client certs and signing key. */
  stateDir: string;
  policy: DevZtsPolicy;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /**
   * A closed dev ZTS on the same `stateDir` whose registered instances this one takes over, for
   * restart tests: ZTS keeps its cert records in a database, so a restart does not lose them.
   */
  resumeFrom?: DevZts;
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
  /**
   * Short role names the request asked for (token and role cert endpoints), whatever the outcome;
   * absent when it named none (all roles) or could not be read.
   */
  requestedRoles?: string[];
  /** The `expiryTime` a cert request asked for, in minutes, as sent. */
  requestedExpiryMins?: number;
  /** The instance id of an instance register/refresh/delete request. */
  instanceId?: string;
  /** `jti` of the access token issued, so tests can tell which request a token came from. */
  tokenId?: string;
  /**
   * The kind of the injected fault that touched this request (for `delay` with `then`: 'delay').
   * `close` and `truncate` answers are logged with status 0.
   */
  fault?: DevZtsFault['kind'];
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
  /**
   * Completed TLS handshakes by the lower-case hex serial of the presented client cert ('' when
   * none was presented), for "handshakes per credential" load assertions.
   */
  readonly handshakesBySerial: ReadonlyMap<string, number>;
  /** Run-time fault injection; no fault is set at start. */
  readonly faults: DevZtsFaults;
  /** Client connections open right now (TCP level, keep-alive included). */
  readonly openConnections: number;
  /** Swaps the policy at run time; validated like the file. */
  setPolicy(policy: DevZtsPolicy): void;
  /** Stops listening and destroys every open socket; resolves once closed. */
  close(): Promise<void>;
}
