// The route table: one row per ZTS API, relative to /zts/v1. New endpoints are new rows;
// per-endpoint behaviour such as fault injection can key on `endpoint` without touching the
// handlers.

import { postAccessToken } from './access-token.js';
import { getCaCerts } from './ca-certs.js';
import type { Handler } from './context.js';
import { getOpenIdConfig, getStatus } from './discovery.js';
import { deleteInstance, postInstanceRefresh } from './instance-refresh.js';
import { postInstanceRegister } from './instance-register.js';
import { getJwks, getPublicKey } from './keys.js';
import { postRoleCert, postRoleCertLegacy } from './role-cert.js';
import { ROLE_TOKEN_INT_PARAMS, getRoleToken } from './role-token.js';
import type { DevZtsEndpoint } from './types.js';

const JSON_TYPE = 'application/json';

export const BASE_PATH = '/zts/v1';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path under BASE_PATH; `{name}` segments become decoded `params.name`. */
  path: string;
  endpoint: Exclude<DevZtsEndpoint, 'unknown'>;
  /**
   * `required`: no accepted credentials (N-token or client cert) gets 401 before the handler runs
   * (RDL resources that call authenticate()). `optional`: an authenticating resource listed in
   * ZTS's no_auth_uri_list: no credentials is fine, refused credentials still get 401.
   * `none`: credentials are recorded when present but never needed.
   */
  auth: 'required' | 'optional' | 'none';
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
  {
    method: 'POST',
    path: '/rolecert',
    endpoint: 'roleCert',
    auth: 'required',
    consumes: JSON_TYPE,
    handler: postRoleCert,
  },
  {
    method: 'POST',
    path: '/domain/{domainName}/role/{roleName}/token',
    endpoint: 'roleCertLegacy',
    auth: 'required',
    consumes: JSON_TYPE,
    handler: postRoleCertLegacy,
  },
  {
    method: 'POST',
    path: '/instance',
    endpoint: 'instanceRegister',
    auth: 'optional',
    consumes: JSON_TYPE,
    handler: postInstanceRegister,
  },
  {
    method: 'POST',
    path: '/instance/{provider}/{domain}/{service}/{instanceId}',
    endpoint: 'instanceRefresh',
    auth: 'required',
    consumes: JSON_TYPE,
    handler: postInstanceRefresh,
  },
  {
    method: 'DELETE',
    path: '/instance/{provider}/{domain}/{service}/{instanceId}',
    endpoint: 'instanceDelete',
    auth: 'required',
    handler: deleteInstance,
  },
  {
    method: 'GET',
    path: '/cacerts/{name}',
    endpoint: 'caCerts',
    auth: 'required',
    handler: getCaCerts,
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
