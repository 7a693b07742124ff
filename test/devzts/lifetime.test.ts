import { describe, expect, it } from 'vitest';

import { DomainIndex } from '../../src/devzts/domains.js';
import { determineTokenTimeout } from '../../src/devzts/lifetime.js';
import { parseJavaBoolean, parseJavaInt } from '../../src/devzts/params.js';
import { parseDevZtsPolicy } from '../../src/devzts/policy.js';

describe('determineTokenTimeout', () => {
  it.each([
    [{}, undefined, 7200],
    [{ maxExpiryTime: 600 }, undefined, 600],
    [{ maxExpiryTime: 1 }, undefined, 1],
    [{ maxExpiryTime: 0 }, undefined, 7200],
    [{ maxExpiryTime: -5 }, undefined, 7200],
    [{ maxExpiryTime: 99_999_999 }, undefined, 2_592_000],
    [{ minExpiryTime: 10_000 }, undefined, 10_000],
    [{ minExpiryTime: 100 }, undefined, 7200],
    [{ minExpiryTime: 10_000, maxExpiryTime: 500 }, undefined, 500],
    [{ minExpiryTime: 99_999_999 }, undefined, 2_592_000],
    [{}, 300, 300],
    [{ maxExpiryTime: 100 }, 300, 100],
    [{ maxExpiryTime: 99_999_999 }, 3_000_000, 2_592_000],
  ])('%j with cap %j gives %j s', (request, cap, expected) => {
    expect(determineTokenTimeout(request, cap)).toBe(expected);
  });
});

describe('DomainIndex', () => {
  const index = new DomainIndex(
    parseDevZtsPolicy({
      domains: {
        capped: {
          tokenExpiry: '1h',
          roles: {
            short: { members: ['a.b'], tokenExpiry: '5m' },
            long: { members: ['a.b'], tokenExpiry: '3h' },
            plain: { members: ['a.b', 'c.d'] },
            tiny: { members: ['a.b'], tokenExpiry: '1500ms' },
            instant: { members: ['a.b'], tokenExpiry: '200ms' },
          },
        },
        open: { roles: { r: { members: ['a.b'] } } },
      },
    }),
  );

  it('lists the roles a principal holds, sorted and limited to the request', () => {
    expect(index.accessibleRoles('capped', 'a.b')).toEqual([
      'instant',
      'long',
      'plain',
      'short',
      'tiny',
    ]);
    expect(index.accessibleRoles('capped', 'c.d', ['short', 'plain'])).toEqual(['plain']);
    expect(index.accessibleRoles('capped', 'x.y')).toEqual([]);
    expect(index.accessibleRoles('missing', 'a.b')).toEqual([]);
  });

  it('caps by the smallest role setting among the granted roles', () => {
    expect(index.expiryCapSeconds('capped', ['long', 'short', 'plain'])).toBe(300);
  });

  it('prefers a role cap over the domain cap, even a larger one', () => {
    expect(index.expiryCapSeconds('capped', ['long', 'plain'])).toBe(10_800);
  });

  it('falls back to the domain cap when no granted role has one', () => {
    expect(index.expiryCapSeconds('capped', ['plain'])).toBe(3600);
    expect(index.expiryCapSeconds('open', ['r'])).toBeUndefined();
  });

  it('rounds sub-second caps down, but never below one second', () => {
    expect(index.expiryCapSeconds('capped', ['tiny'])).toBe(1);
    expect(index.expiryCapSeconds('capped', ['instant'])).toBe(1);
  });
});

describe('Java parameter parsing', () => {
  it.each([
    ['3600', 3600],
    ['+5', 5],
    ['-5', -5],
    ['007', 7],
    ['2147483647', 2_147_483_647],
    ['2147483648', undefined],
    ['1.5', undefined],
    [' 5', undefined],
    ['5s', undefined],
    ['', undefined],
  ])('parseJavaInt(%j) is %j', (text, expected) => {
    expect(parseJavaInt(text)).toBe(expected);
  });

  it('reads booleans like Boolean.parseBoolean', () => {
    expect([parseJavaBoolean('TRUE'), parseJavaBoolean('yes'), parseJavaBoolean(null)]).toEqual([
      true,
      false,
      false,
    ]);
  });
});
