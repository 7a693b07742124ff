// The route table: one row per ZTS API, relative to /zts/v1. New endpoints (role certs, instance
// register/refresh) are new rows; per-endpoint behaviour such as fault injection can key on
// `endpoint` without touching the handlers.

import { postAccessToken } from './access-token.js';
import type { Handler } from './context.js';
import { getOpenIdConfig, getStatus } from './discovery.js';
import { getJwks, getPublicKey } from './keys.js';
import { ROLE_TOKEN_INT_PARAMS, getRoleToken } from './role-token.js';
import type { DevZtsEndpoint } from './types.js';

export const BASE_PATH = '/zts/v1';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path under BASE_PATH; `{name}` segments become decoded `params.name`. */
  path: string;
  endpoint: Exclude<DevZtsEndpoint, 'unknown'>;
  /**
   * `required`: no valid client cert gets 401 before the handler runs (RDL resources that call
   * authenticate()). `none`: credentials are recorded when present but not needed.
   */
  auth: 'required' | 'none';
  /** JAX-RS @Consumes: a request with another Content-Type gets 415. */
  consumes?: string;
  /** Query parameters typed Integer: JAX-RS answers 404 when one does not parse. */
  intQuery?: readonly string[];
  handler: Handler;
}

export const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/oauth2/token',
    endpoint: 'accessToken',
    auth: 'required',
    consumes: 'application/x-www-form-urlencoded',
    handler: postAccessToken,
  },
  {
    method: 'GET',
    path: '/domain/{domainName}/token',
    endpoint: 'roleToken',
    auth: 'required',
    intQuery: ROLE_TOKEN_INT_PARAMS,
    handler: getRoleToken,
  },
  { method: 'GET', path: '/oauth2/keys', endpoint: 'jwks', auth: 'none', handler: getJwks },
  {
    method: 'GET',
    path: '/domain/{domainName}/service/{serviceName}/publickey/{keyId}',
    endpoint: 'publicKey',
    auth: 'required',
    handler: getPublicKey,
  },
  // RDL-wise /status authenticates, but deployments list it in no_auth_uri_list for probes.
  { method: 'GET', path: '/status', endpoint: 'status', auth: 'none', handler: getStatus },
  {
    method: 'GET',
    path: '/.well-known/openid-configuration',
    endpoint: 'openidConfig',
    auth: 'none',
    handler: getOpenIdConfig,
  },
];

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/**
 * Routes whose pattern fits the path (any method). An undecodable `{param}` segment fits
 * nothing, so it ends up as 404 like any unknown path.
 */
export function matchPath(path: string, routes: readonly Route[] = ROUTES): RouteMatch[] {
  if (!path.startsWith(`${BASE_PATH}/`)) {
    return [];
  }
  const segments = path.slice(BASE_PATH.length + 1).split('/');
  const matches: RouteMatch[] = [];
  for (const route of routes) {
    const params = matchSegments(route.path.slice(1).split('/'), segments);
    if (params !== undefined) {
      matches.push({ route, params });
    }
  }
  return matches;
}

function matchSegments(
  pattern: readonly string[],
  segments: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== segments.length) {
    return undefined;
  }
  const params: Record<string, string> = {};
  for (const [index, part] of pattern.entries()) {
    const segment = segments[index] ?? '';
    if (part.startsWith('{') && part.endsWith('}')) {
      const value = decodeSegment(segment);
      if (value === undefined || value === '') {
        return undefined;
      }
      params[part.slice(1, -1)] = value;
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
