// What a route handler gets: the parsed request, the caller's identity and the running server's
// shared state. Handlers return a Reply or throw ZtsHttpError; they never touch the response.

import type { IncomingHttpHeaders } from 'node:http';

import type { PeerIdentity } from './auth.js';
import type { DomainIndex } from './domains.js';
import { ZtsHttpError } from './http.js';
import type { Reply } from './http.js';
import type { DevZtsState } from './state.js';

/** Server-wide state the handlers share. `domains` changes when the policy is swapped. */
export interface DevZtsRuntime {
  readonly state: DevZtsState;
  domains: DomainIndex;
  /** Access token `iss` (`athenz.zts.oauth_issuer`): a bare host name by default. */
  readonly issuer: string;
  /** The OpenID issuer (`athenz.zts.openid_issuer`): the server's URL. */
  readonly openIdIssuer: string;
  /** Host name ZTS writes into role tokens (`h=`). */
  readonly hostName: string;
  /** Base URL, e.g. `https://127.0.0.1:40123/zts/v1`. */
  readonly url: string;
}

export interface RequestContext {
  readonly method: string;
  readonly path: string;
  /** Decoded path parameters, by the names in the route pattern. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly peer: PeerIdentity;
  /** Remote address as ZTS logs it: IPv4-mapped IPv6 shown as plain IPv4. */
  readonly clientIp: string;
  readonly runtime: DevZtsRuntime;
  /** The request body, size-limited; read at most once. */
  body(): Promise<Buffer>;
  /** Filled in by handlers for the request log. */
  readonly note: { domain?: string; roles?: string[] };
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

/** The authenticated principal; routes marked `auth: 'required'` never run without one. */
export function requirePrincipal(ctx: RequestContext): string {
  if (ctx.peer.principal === undefined) {
    throw new ZtsHttpError(401, 'Invalid credentials');
  }
  return ctx.peer.principal;
}
