// One request end to end, in the order a JAX-RS server applies its checks: route (404), method
// (405), media type (415), typed query parameters (404), then the resource's own authentication
// (401; N-token first, then client cert, see authenticate.ts) and logic. Every outcome is
// recorded, logged and written in one place.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';

import type { Logger } from '../logger.js';
import { peerIdentity } from './auth.js';
import { authenticate } from './authenticate.js';
import type { DevZtsRuntime, RequestContext, RequestNote } from './context.js';
import { ZtsHttpError, errorReply, readBody } from './http.js';
import type { Reply } from './http.js';
import { parseJavaInt } from './params.js';
import { matchPath } from './routes.js';
import type { RouteMatch } from './routes.js';
import type { DevZtsEndpoint, DevZtsRequest } from './types.js';

export interface DispatchHooks {
  record(entry: DevZtsRequest): void;
  logger?: Logger | undefined;
}

const UNPARSABLE = 'https://dev-zts.invalid/unparsable-request-target';

/** The challenge of the default PrincipalAuthority, which ZTS adds to every 401. */
const AUTH_CHALLENGE = { 'WWW-Authenticate': 'AthenzPrincipalToken realm="athenz"' };

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
  const { caller } = auth;
  const note: RequestNote = {};
  let endpoint: DevZtsEndpoint = 'unknown';

  let reply: Reply;
  try {
    const matches = matchPath(url.pathname);
    // A 405 is logged under the path's first API; otherwise the method picks the API.
    endpoint = matches[0]?.route.endpoint ?? 'unknown';
    const match = selectRoute(method, matches);
    endpoint = match.route.endpoint;
    checkRequestShape(match, req, url.searchParams);
    const { auth: mode } = match.route;
    if (caller === undefined && (mode === 'required' || (mode === 'optional' && auth.rejected))) {
      throw new ZtsHttpError(401, 'Invalid credentials', AUTH_CHALLENGE);
    }

    let body: Promise<Buffer> | undefined;
    const ctx: RequestContext = {
      method,
      path: url.pathname,
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      peer,
      caller,
      clientIp: clientIp(req),
      runtime,
      body: () => (body ??= readBody(req, req.headers['content-length'])),
      note,
    };
    reply = await match.route.handler(ctx);
  } catch (error) {
    reply = toReply(error, hooks.logger);
  }

  const entry: DevZtsRequest = {
    at: Date.now(),
    method,
    path: url.pathname,
    endpoint,
    status: reply.status,
    ...(caller === undefined ? {} : { principal: caller.principal, authority: caller.authority }),
    ...(peer.serial === undefined ? {} : { clientCertSerial: peer.serial }),
    ...(note.domain === undefined ? {} : { domain: note.domain }),
    ...(note.roles === undefined || reply.status !== 200 ? {} : { roles: note.roles }),
    ...(note.requestedExpiryMins === undefined
      ? {}
      : { requestedExpiryMins: note.requestedExpiryMins }),
    ...(note.instanceId === undefined ? {} : { instanceId: note.instanceId }),
    ...(note.tokenId === undefined || reply.status !== 200 ? {} : { tokenId: note.tokenId }),
  };
  hooks.record(entry);
  hooks.logger?.debug(
    {
      method,
      path: entry.path,
      endpoint,
      status: entry.status,
      principal: entry.principal,
      detail: note.detail ?? auth.ntokenError,
    },
    'dev zts request',
  );
  write(res, reply);
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

function write(res: ServerResponse, reply: Reply): void {
  // 204 (instance delete) carries no body at all.
  if (reply.body === undefined) {
    res.writeHead(reply.status, { ...reply.headers });
    res.end();
    return;
  }
  const json = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
    ...reply.headers,
  });
  res.end(json);
}
