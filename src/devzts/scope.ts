// The access token `scope` grammar, as ZTS's OAuthTokenScope + AccessTokenScope read it:
// space-separated items, one domain per request, unknown items skipped.
//
//   <domain>:domain                   every role the caller holds (scope echoed in the response)
//   <domain>:role.<role>              repeatable
//   openid <domain>:service.<svc>     id_token; ignored unless oauth_openid_scope=true (default off)
//   <domain>:group.<group>            id_token groups; only its domain matters for access tokens

import { badRequest } from './http.js';

const OBJECT_DOMAIN = ':domain';
const OBJECT_ROLE = ':role.';
const OBJECT_GROUP = ':group.';
const OBJECT_SERVICE = ':service.';

export interface AccessTokenScope {
  domain: string;
  /** Requested short role names; undefined means every role the caller holds. */
  roles: string[] | undefined;
  /** `:domain` was asked for, so the response echoes the granted scope. */
  sendScopeResponse: boolean;
  /**
   * `openid` was asked for. The dev ZTS runs with upstream's default
   * `athenz.zts.oauth_openid_scope=false`, so it never issues an id_token and never echoes
   * `openid` in the response scope: the item is validated, then silently ignored.
   */
  openIdRequested: boolean;
  service: string | undefined;
}

/** Parses an already lower-cased scope; throws 400 with the upstream message when invalid. */
export function parseAccessTokenScope(scope: string): AccessTokenScope {
  let domain: string | undefined;
  let service: string | undefined;
  let openIdScope = false;
  let sendScopeResponse = false;
  const roles = new Set<string>();

  const addDomain = (name: string): void => {
    if (name === '') {
      throw badRequest('empty domain name');
    }
    if (domain !== undefined && name !== domain) {
      throw badRequest('Multiple domains in scope');
    }
    domain = name;
  };

  // Single-space split, as String.split(" "): doubled spaces give empty items, which are skipped.
  for (const item of scope.split(' ')) {
    const lower = item.toLowerCase();
    if (lower === 'openid') {
      openIdScope = true;
      continue;
    }
    if (lower === 'groups' || lower === 'roles') {
      continue;
    }

    const serviceAt = item.indexOf(OBJECT_SERVICE);
    if (serviceAt !== -1) {
      addDomain(item.slice(0, serviceAt));
      const name = item.slice(serviceAt + OBJECT_SERVICE.length);
      if (service !== undefined && name !== service) {
        throw badRequest('Multiple services in scope');
      }
      service = name;
      continue;
    }
    if (item.endsWith(OBJECT_DOMAIN)) {
      addDomain(item.slice(0, -OBJECT_DOMAIN.length));
      sendScopeResponse = true;
      continue;
    }
    const roleAt = item.indexOf(OBJECT_ROLE);
    if (roleAt !== -1) {
      addDomain(item.slice(0, roleAt));
      roles.add(item.slice(roleAt + OBJECT_ROLE.length));
      continue;
    }
    const groupAt = item.indexOf(OBJECT_GROUP);
    if (groupAt !== -1) {
      addDomain(item.slice(0, groupAt));
    }
  }

  if (domain === undefined) {
    throw badRequest('No domains in scope');
  }
  if (openIdScope && service === undefined) {
    throw badRequest('No audience service name for openid scope');
  }
  return {
    domain,
    // `:domain` wins over any listed roles: the caller gets all of them.
    roles: sendScopeResponse || roles.size === 0 ? undefined : [...roles],
    sendScopeResponse,
    openIdRequested: openIdScope,
    service,
  };
}
