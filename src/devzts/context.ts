// What a route handler gets: the parsed request, the caller's identity and the running server's
// shared state. Handlers return a Reply or throw ZtsHttpError; they never touch the response.

import type { IncomingHttpHeaders } from 'node:http';

import type { PeerIdentity } from './auth.js';
import type { Caller } from './authenticate.js';
import { ZtsHttpError } from './http.js';
import type { Reply } from './http.js';
import type { InstanceStore } from './instance-store.js';
import type { Issuance } from './issuance.js';
import type { PolicyView } from './policy-view.js';
import type { DevZtsState } from './state.js';

/** Server-wide state the handlers share. The PolicyView part changes when the policy is swapped. */
export interface DevZtsRuntime extends PolicyView {
  readonly state: DevZtsState;
  /** Registered instances; kept across policy swaps, like ZTS's cert record store. */
  readonly instances: InstanceStore;
  /** Access token `iss` (`athenz.zts.oauth_issuer`): a bare host name by default. */
  readonly issuer: string;
  /** The OpenID issuer (`athenz.zts.openid_issuer`): the server's URL. */
  readonly openIdIssuer: string;
  /** Host name ZTS writes into role tokens (`h=`). */
  readonly hostName: string;
  /** Base URL, e.g. `https://127.0.0.1:40123/zts/v1`. */
  readonly url: string;
}

/** Filled in by handlers for the request log. */
export interface RequestNote {
  domain?: string;
  roles?: string[];
  requestedExpiryMins?: number;
  instanceId?: string;
  /** `jti` of an issued access token. */
  tokenId?: string;
  /** Why a request was refused, when the ZTS message is deliberately vague; debug log only. */
  detail?: string;
}

export interface RequestContext {
  readonly method: string;
  readonly path: string;
  /** Decoded path parameters, by the names in the route pattern. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The presented client cert, as the TLS layer saw it. */
  readonly peer: PeerIdentity;
  /** The authenticated caller (N-token or client cert), if any authority accepted one. */
  readonly caller: Caller | undefined;
  /** Remote address as ZTS logs it: IPv4-mapped IPv6 shown as plain IPv4. */
  readonly clientIp: string;
  readonly runtime: DevZtsRuntime;
  /** The request body, size-limited; read at most once. */
  body(): Promise<Buffer>;
  readonly note: RequestNote;
  /** How an injected fault bends the times of what this request issues (see issuance.ts). */
  readonly issuance: Issuance;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

/** The authenticated caller; routes marked `auth: 'required'` never run without one. */
export function requireCaller(ctx: RequestContext): Caller {
  if (ctx.caller === undefined) {
    throw new ZtsHttpError(401, 'Invalid credentials');
  }
  return ctx.caller;
}

/** The authenticated principal's name. */
export function requirePrincipal(ctx: RequestContext): string {
  return requireCaller(ctx).principal;
}

/**
 * ZTSImpl.validatePrincipalNotRoleIdentity: cert and instance APIs need a service identity, not
 * a role certificate.
 */
export function requireServiceIdentity(ctx: RequestContext): Caller {
  const caller = requireCaller(ctx);
  if (caller.roles !== undefined) {
    throw new ZtsHttpError(403, 'Role Identity not authorized for request');
  }
  return caller;
}
