// One request end to end, in the order a JAX-RS server applies its checks: route (404), method
// (405), media type (415), typed query parameters (404), then the resource's own authentication
// (401; N-token first, then client cert, see authenticate.ts) and logic. An injected fault is
// picked right after routing, before any of those checks, as an outage hits every request alike.
// Every outcome is recorded, logged and written in one place.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';

import type { Logger } from '../logger.js';
import { peerIdentity } from './auth.js';
import type { PeerIdentity } from './auth.js';
import { authenticate } from './authenticate.js';
import type { Authentication } from './authenticate.js';
import type { DevZtsRuntime, RequestNote } from './context.js';
import { outcomeOf, wireStatus } from './fault-outcome.js';
import type { Outcome } from './fault-outcome.js';
import type { FaultTable } from './faults.js';
import { AUTH_CHALLENGE, ZtsHttpError, errorReply, readBody } from './http.js';
import type { Reply } from './http.js';
import type { Issuance } from './issuance.js';
import { parseJavaInt } from './params.js';
import { ROLE_ENDPOINTS, requestTarget } from './request-target.js';
import type { RequestTarget } from './request-target.js';
import { send } from './respond.js';
import { matchPath } from './routes.js';
import type { RouteMatch } from './routes.js';
import type { DevZtsEndpoint, DevZtsFault, DevZtsRequest } from './types.js';

export interface DispatchHooks {
  record(entry: DevZtsRequest): void;
  logger?: Logger | undefined;
  /** Injected faults; none when absent. */
  faults?: FaultTable | undefined;
  /** Aborted when the server closes, so a delayed request does not outlive it. */
  closed?: AbortSignal | undefined;
}

const UNPARSABLE = 'https://dev-zts.invalid/unparsable-request-target';

const NEVER_CLOSED = new AbortController().signal;

/** Where a request was routed: its endpoint, and its route or the 404/405 it gets instead. */
type Routed =
  | { endpoint: DevZtsEndpoint; match: RouteMatch; error?: undefined }
  | { endpoint: DevZtsEndpoint; match?: undefined; error: ZtsHttpError };

/** A parsed request on its way through dispatch. */
interface Incoming {
  req: IncomingMessage;
  url: URL;
  method: string;
  routed: Routed;
  peer: PeerIdentity;
  auth: Authentication;
  /** Filled in by the handler for the log. */
  note: RequestNote;
  /** The body, size-limited and read at most once: the fault matcher may read it first. */
  body: () => Promise<Buffer>;
}

export async function dispatch(
  req: IncomingMessage,
  res: ServerResponse,
  runtime: DevZtsRuntime,
  hooks: DispatchHooks,
): Promise<void> {
  // An unparsable request target (e.g. a broken absolute-form URL) is routed as an unknown path.
  const url = URL.parse(req.url ?? '/', 'https://dev-zts.invalid') ?? new URL(UNPARSABLE);
  const method = req.method ?? 'GET';
  const peer = req.socket instanceof TLSSocket ? peerIdentity(req.socket) : { rejected: false };
  const auth = authenticate(req.headers, peer, runtime.publicKeys);
  let body: Promise<Buffer> | undefined;
  const incoming: Incoming = {
    req,
    url,
    method,
    routed: route(method, url.pathname),
    peer,
    auth,
    note: {},
    body: () => (body ??= readBody(req, req.headers['content-length'])),
  };
  const { endpoint, match } = incoming.routed;

  const target =
    match === undefined
      ? {}
      : await requestTarget(endpoint, {
          params: match.params,
          query: url.searchParams,
          body: incoming.body,
        });
  const fault = hooks.faults?.take(endpoint, target);
  const outcome = await outcomeOf(
    fault,
    (issuance) => handle(incoming, runtime, issuance, hooks.logger),
    hooks.closed ?? NEVER_CLOSED,
  );

  const entry = logEntry(incoming, target, fault, outcome);
  hooks.record(entry);
  hooks.logger?.debug(
    {
      method,
      path: entry.path,
      endpoint,
      status: entry.status,
      principal: entry.principal,
      fault: entry.fault,
      detail: incoming.note.detail ?? auth.ntokenError,
    },
    'dev zts request',
  );
  send(res, outcome.wire);
}

/** The normal path: request shape, authentication, then the route's handler. */
async function handle(
  incoming: Incoming,
  runtime: DevZtsRuntime,
  issuance: Issuance,
  logger: Logger | undefined,
): Promise<Reply> {
  const { req, url, routed, auth } = incoming;
  const { caller } = auth;
  try {
    if (routed.error !== undefined) {
      throw routed.error;
    }
    const { match } = routed;
    checkRequestShape(match, req, url.searchParams);
    const { auth: mode } = match.route;
    if (caller === undefined && (mode === 'required' || (mode === 'optional' && auth.rejected))) {
      throw new ZtsHttpError(401, 'Invalid credentials', { ...AUTH_CHALLENGE });
    }
    return await match.route.handler({
      method: incoming.method,
      path: url.pathname,
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      peer: incoming.peer,
      caller,
      clientIp: clientIp(req),
      runtime,
      body: incoming.body,
      note: incoming.note,
      issuance,
    });
  } catch (error) {
    return toReply(error, logger);
  }
}

function logEntry(
  incoming: Incoming,
  target: RequestTarget,
  fault: DevZtsFault | undefined,
  outcome: Outcome,
): DevZtsRequest {
  const { auth, peer, note, routed } = incoming;
  const { caller } = auth;
  const { handled } = outcome;
  // Credentials count as issued when the handler answered 200, whatever was sent after that.
  const issued = handled?.status === 200;
  // A request that a fault answered in the handler's place still shows the domain it asked for.
  const domain = note.domain ?? (handled === undefined ? target.domain : undefined);
  return {
    at: Date.now(),
    method: incoming.method,
    path: incoming.url.pathname,
    endpoint: routed.endpoint,
    status: wireStatus(outcome.wire),
    ...(caller === undefined ? {} : { principal: caller.principal, authority: caller.authority }),
    ...(peer.serial === undefined ? {} : { clientCertSerial: peer.serial }),
    ...(domain === undefined ? {} : { domain }),
    ...(note.roles === undefined || !issued ? {} : { roles: note.roles }),
    ...(target.roles === undefined || !ROLE_ENDPOINTS.has(routed.endpoint)
      ? {}
      : { requestedRoles: target.roles }),
    ...(note.requestedExpiryMins === undefined
      ? {}
      : { requestedExpiryMins: note.requestedExpiryMins }),
    ...(note.instanceId === undefined ? {} : { instanceId: note.instanceId }),
    ...(note.tokenId === undefined || !issued ? {} : { tokenId: note.tokenId }),
    ...(fault === undefined ? {} : { fault: fault.kind }),
  };
}

function route(method: string, path: string): Routed {
  const matches = matchPath(path);
  try {
    const match = selectRoute(method, matches);
    return { endpoint: match.route.endpoint, match };
  } catch (error) {
    if (!(error instanceof ZtsHttpError)) {
      throw error;
    }
    // A 405 is logged under the path's first API.
    return { endpoint: matches[0]?.route.endpoint ?? 'unknown', error };
  }
}

function selectRoute(method: string, matches: readonly RouteMatch[]): RouteMatch {
  if (matches.length === 0) {
    throw new ZtsHttpError(404, 'Not Found');
  }
  // HEAD is served by GET resources, as JAX-RS does.
  const wanted = method === 'HEAD' ? 'GET' : method;
  const match = matches.find(({ route }) => route.method === wanted);
  if (match === undefined) {
    const allow = [...new Set(matches.map(({ route }) => route.method))].join(', ');
    throw new ZtsHttpError(405, 'Method Not Allowed', { Allow: allow });
  }
  return match;
}

function checkRequestShape(match: RouteMatch, req: IncomingMessage, query: URLSearchParams): void {
  const { consumes, intQuery = [] } = match.route;
  // Jersey matches a request without Content-Type against any @Consumes, so only a present,
  // different media type is refused.
  const contentType = req.headers['content-type'];
  if (consumes !== undefined && contentType !== undefined) {
    const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
    if (mediaType !== consumes) {
      throw new ZtsHttpError(415, 'Unsupported Media Type');
    }
  }
  for (const name of intQuery) {
    const value = query.get(name);
    if (value !== null && value !== '' && parseJavaInt(value) === undefined) {
      throw new ZtsHttpError(404, `Not Found: query parameter ${name} is not an integer`);
    }
  }
}

function toReply(error: unknown, logger: Logger | undefined): Reply {
  if (error instanceof ZtsHttpError) {
    return errorReply(error);
  }
  logger?.error({ err: error }, 'dev zts handler failed');
  return errorReply(new ZtsHttpError(500, 'Internal Server Error'));
}

function clientIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
