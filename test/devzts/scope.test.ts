import { describe, expect, it } from 'vitest';

import { parseAccessTokenScope } from '../../src/devzts/scope.js';

function failure(scope: string): unknown {
  try {
    parseAccessTokenScope(scope);
  } catch (error) {
    return error;
  }
  throw new Error(`scope ${scope} was accepted`);
}

describe('parseAccessTokenScope', () => {
  it('reads <domain>:domain as every role, with the scope echoed', () => {
    expect(parseAccessTokenScope('sports:domain')).toEqual({
      domain: 'sports',
      roles: undefined,
      sendScopeResponse: true,
      openIdRequested: false,
      service: undefined,
    });
  });

  it('collects repeated role items of one domain', () => {
    const scope = parseAccessTokenScope('sports:role.reader sports:role.writer sports:role.reader');
    expect(scope.roles).toEqual(['reader', 'writer']);
    expect(scope.sendScopeResponse).toBe(false);
  });

  it('lets :domain win over listed roles', () => {
    expect(parseAccessTokenScope('sports:role.reader sports:domain').roles).toBeUndefined();
  });

  it('keeps dots in role names and splits at the first :role.', () => {
    expect(parseAccessTokenScope('sports:role.team.reader').roles).toEqual(['team.reader']);
  });

  it('skips unknown items and empty items from doubled spaces', () => {
    const scope = parseAccessTokenScope('profile  sports:role.reader roles groups offline_access');
    expect(scope).toMatchObject({ domain: 'sports', roles: ['reader'] });
  });

  it('accepts openid with a service item and leaves the id_token off', () => {
    const scope = parseAccessTokenScope('openid sports:service.api sports:role.reader');
    expect(scope).toMatchObject({ openIdRequested: true, service: 'api', roles: ['reader'] });
  });

  it('treats a lone service or group item as a request for every role', () => {
    expect(parseAccessTokenScope('openid sports:service.api')).toMatchObject({
      domain: 'sports',
      roles: undefined,
      sendScopeResponse: false,
    });
    expect(parseAccessTokenScope('sports:group.admins').roles).toBeUndefined();
  });

  it.each([
    ['sports:role.reader weather:role.viewer', 'Multiple domains in scope'],
    ['sports:domain weather:domain', 'Multiple domains in scope'],
    ['openid sports:service.a weather:role.r', 'Multiple domains in scope'],
    ['openid sports:service.a sports:service.b', 'Multiple services in scope'],
    ['openid reader', 'No domains in scope'],
    ['', 'No domains in scope'],
    ['openid sports:role.reader', 'No audience service name for openid scope'],
    [':domain', 'empty domain name'],
    [':role.reader', 'empty domain name'],
  ])('rejects %j with 400 %j', (scope, message) => {
    expect(failure(scope)).toMatchObject({ status: 400, message });
  });
});
