import { generateKeyPairSync } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { parseRoleToken, unsignedRoleToken } from '../../src/athenz/role-token.js';
import { parseTokenFields, signToken, verifyToken } from '../../src/athenz/signed-token.js';
import { ybase64Decode, ybase64Encode } from '../../src/athenz/ybase64.js';

describe('YBase64', () => {
  it('uses . _ and - where Base64 has + / and =', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x01]);
    expect(bytes.toString('base64')).toBe('+//+AQ==');
    expect(ybase64Encode(bytes)).toBe('.__.AQ--');
    expect(ybase64Decode('.__.AQ--')).toEqual(bytes);
  });
});

describe('signed tokens', () => {
  const claims = {
    domain: 'sports',
    roles: ['reader', 'writer'],
    complete: false,
    principal: 'demo.agent',
    host: 'localhost',
    salt: 'a1b2c3d4e5f60718',
    issuedAt: 1_700_000_000,
    expiresAt: 1_700_003_600,
    keyId: '0',
  };

  it.each(['ec', 'rsa'] as const)('signs and verifies with an %s key', (type) => {
    const { privateKey, publicKey } =
      type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = signToken(unsignedRoleToken(claims), privateKey);
    expect(token).toMatch(
      /^v=Z1;d=sports;r=reader,writer;p=demo\.agent;h=localhost;a=a1b2c3d4e5f60718;t=1700000000;e=1700003600;k=0;s=[A-Za-z0-9._-]+$/,
    );
    expect(verifyToken(token, publicKey)).toBe(true);
    expect(verifyToken(token.replace('r=reader,writer', 'r=admin'), publicKey)).toBe(false);
    expect(parseRoleToken(token)).toMatchObject({ ...claims, host: 'localhost' });
  });

  it('refuses items with no or several = signs', () => {
    expect(parseTokenFields('v=Z1;d')).toBeUndefined();
    expect(parseTokenFields('v=Z1;d=a=b')).toBeUndefined();
    expect(parseRoleToken('v=S1;d=a;s=x')).toBeUndefined();
  });
});
