// What a request asks for (domain and role names), worked out before it is handled: fault matching
// needs it for requests that are never handled, and the request log keeps it for every token and
// role cert request so tests can count requests per credential even when they fail. Reading is
// lenient: whatever does not parse simply leaves the field out, and the handler still answers
// with the proper error later.

import type { RequestContext } from './context.js';
import { parseCsr } from './csr.js';
import { parseJsonBody } from './http.js';
import { requestedRole } from './role-csr.js';
import { parseAccessTokenScope } from './scope.js';
import { urlDecode } from './token-form.js';
import type { DevZtsEndpoint } from './types.js';

export interface RequestTarget {
  /** Lower-cased. */
  domain?: string;
  /** Lower-cased short role names; undefined when the request names none (all roles). */
  roles?: string[];
}

/** Endpoints whose log entries carry `requestedRoles`. */
export const ROLE_ENDPOINTS: ReadonlySet<DevZtsEndpoint> = new Set([
  'accessToken',
  'roleToken',
  'roleCert',
  'roleCertLegacy',
]);

/** The parts of a routed request the target is read from; `body` is the shared, read-once body. */
export type TargetSource = Pick<RequestContext, 'params' | 'query' | 'body'>;

export async function requestTarget(
  endpoint: DevZtsEndpoint,
  source: TargetSource,
): Promise<RequestTarget> {
  try {
    return await targetOf(endpoint, source);
  } catch {
    return {};
  }
}

async function targetOf(endpoint: DevZtsEndpoint, ctx: TargetSource): Promise<RequestTarget> {
  const { params, query } = ctx;
  switch (endpoint) {
    case 'accessToken':
      return accessTokenTarget((await ctx.body()).toString('utf8'));
    case 'roleToken': {
      const role = query.get('role');
      return {
        domain: params.domainName?.toLowerCase(),
        ...(role === null || role === '' ? {} : { roles: role.toLowerCase().split(',') }),
      };
    }
    case 'roleCertLegacy':
      return {
        domain: params.domainName?.toLowerCase(),
        ...(params.roleName === undefined ? {} : { roles: [params.roleName.toLowerCase()] }),
      };
    case 'roleCert':
      return roleCertTarget(await ctx.body());
    default:
      // Instance paths name the domain as `{domain}`, key paths as `{domainName}`.
      return { domain: (params.domainName ?? params.domain)?.toLowerCase() };
  }
}

/** The scope's domain and roles, read like the form parser reads it (last `scope` wins). */
function accessTokenTarget(body: string): RequestTarget {
  let scope: string | undefined;
  for (const component of body.split('&')) {
    const at = component.indexOf('=');
    if (at !== -1 && urlDecode(component.slice(0, at)) === 'scope') {
      scope = urlDecode(component.slice(at + 1))?.toLowerCase() ?? scope;
    }
  }
  if (scope === undefined || scope === '') {
    return {};
  }
  const parsed = parseAccessTokenScope(scope);
  return { domain: parsed.domain, ...(parsed.roles === undefined ? {} : { roles: parsed.roles }) };
}

async function roleCertTarget(body: Buffer): Promise<RequestTarget> {
  const json = parseJsonBody(body) as { csr?: unknown } | null;
  if (typeof json?.csr !== 'string') {
    return {};
  }
  const { domain, role } = requestedRole(await parseCsr(json.csr));
  return { domain: domain.toLowerCase(), roles: [role.toLowerCase()] };
}
