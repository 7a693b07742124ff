import { decodeJwt } from 'jose';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PRINCIPAL_AUTH_HEADER } from '../../src/athenz/principal-token.js';
import { signToken, unsignedToken } from '../../src/athenz/signed-token.js';
import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { callZts, postTokenForm, withDevZts } from '../helpers/devzts.js';
import type { DevZtsFixture, JsonResponse } from '../helpers/devzts.js';
import { nToken, nTokenKey } from './credentials.js';

const EC_KEY = nTokenKey('ec');
const RSA_KEY = nTokenKey('rsa');
const ZTS_KEY = nTokenKey('ec');
const STRANGER = nTokenKey('ec');

const POLICY: DevZtsPolicy = {
  services: ['demo.agent', 'other.svc'],
  publicKeys: {
    'demo.agent': { '0': EC_KEY.publicKeyPem, v2: RSA_KEY.publicKeyPem },
    'sys.auth.zts': { '0': ZTS_KEY.publicKeyPem },
  },
  domains: {
    sports: { roles: { reader: { members: ['demo.agent', 'other.svc'] } } },
  },
};

const SCOPE = 'grant_type=client_credentials&scope=sports%3Arole.reader';
const DAY_S = 86_400;

let fx: DevZtsFixture;
let anonymous: Agent;

beforeAll(async () => {
  fx = await withDevZts(POLICY);
  anonymous = await fx.anonymousAgent();
});

afterAll(async () => {
  await fx.cleanup();
});

function withToken(token: string, dispatcher: Agent = anonymous): Promise<JsonResponse> {
  return postTokenForm(dispatcher, fx.zts, SCOPE, { [PRINCIPAL_AUTH_HEADER]: token });
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function accessToken(response: JsonResponse): string {
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  return (response.json as { access_token: string }).access_token;
}

describe('N-token authentication', () => {
  it('issues an access token without cnf to an N-token caller', async () => {
    const claims = decodeJwt(accessToken(await withToken(nToken(EC_KEY.privateKey, 'demo.agent'))));
    expect(claims).toMatchObject({ sub: 'demo.agent', client_id: 'demo.agent', scp: ['reader'] });
    expect(claims).not.toHaveProperty('cnf');
    expect(fx.zts.requests.at(-1)).toMatchObject({
      endpoint: 'accessToken',
      status: 200,
      principal: 'demo.agent',
      authority: 'ntoken',
    });
    expect(fx.zts.requests.at(-1)).not.toHaveProperty('clientCertSerial');
  });

  it('finds the key by key id, RSA as well as EC, and lower-cases the principal', async () => {
    const rsa = nToken(RSA_KEY.privateKey, 'demo.agent', { keyId: 'v2' });
    expect(decodeJwt(accessToken(await withToken(rsa))).sub).toBe('demo.agent');
    const upper = nToken(EC_KEY.privateKey, 'Demo.Agent');
    expect(decodeJwt(accessToken(await withToken(upper))).sub).toBe('demo.agent');
  });

  it('looks the key up under sys.auth.zts for z=zts', async () => {
    const t = now();
    const unsigned = unsignedToken([
      ['v', 'S1'],
      ['d', 'demo'],
      ['n', 'agent'],
      ['a', 'abcdef0123456789'],
      ['t', String(t)],
      ['e', String(t + 600)],
      ['k', '0'],
      ['z', 'zts'],
    ]);
    accessToken(await withToken(signToken(unsigned, ZTS_KEY.privateKey)));
  });

  it('allows the documented clock skew at both ends', async () => {
    const t = now();
    accessToken(await withToken(nToken(EC_KEY.privateKey, 'demo.agent', { issuedAt: t + 200 })));
    accessToken(
      await withToken(nToken(EC_KEY.privateKey, 'demo.agent', { expiresAt: t + 30 * DAY_S })),
    );
  });

  it.each([
    ['a signature by another key', () => nToken(STRANGER.privateKey, 'demo.agent')],
    ['an expired token', () => nToken(EC_KEY.privateKey, 'demo.agent', { expiresAt: now() - 10 })],
    [
      'an issue time more than 300 s ahead',
      () => nToken(EC_KEY.privateKey, 'demo.agent', { issuedAt: now() + 400 }),
    ],
    [
      'an expiry beyond 30 days + 300 s',
      () => nToken(EC_KEY.privateKey, 'demo.agent', { expiresAt: now() + 30 * DAY_S + 400 }),
    ],
    ['an unknown key id', () => nToken(EC_KEY.privateKey, 'demo.agent', { keyId: '7' })],
    ['a principal without keys', () => nToken(EC_KEY.privateKey, 'other.svc')],
    ['a malformed token', () => 'v=S1;d=demo;n=agent;s'],
    ['an empty header', () => ''],
  ])('answers 401 for %s', async (_name, token) => {
    const response = await withToken(token());
    expect(response).toMatchObject({
      status: 401,
      json: { code: 401, message: 'Invalid credentials' },
    });
    expect(response.headers['www-authenticate']).toBe('AthenzPrincipalToken realm="athenz"');
  });

  it('prefers a valid N-token over a valid client cert, as the authority order does', async () => {
    const other = await fx.agent('other.svc');
    const claims = decodeJwt(
      accessToken(await withToken(nToken(EC_KEY.privateKey, 'demo.agent'), other)),
    );
    expect(claims.sub).toBe('demo.agent');
    expect(claims).not.toHaveProperty('cnf');
    expect(fx.zts.requests.at(-1)).toMatchObject({ principal: 'demo.agent', authority: 'ntoken' });
  });

  it('falls back to the client cert when the N-token is refused', async () => {
    const other = await fx.agent('other.svc');
    const stale = nToken(EC_KEY.privateKey, 'demo.agent', { expiresAt: now() - 10 });
    const claims = decodeJwt(accessToken(await withToken(stale, other)));
    expect(claims.sub).toBe('other.svc');
    expect(claims).toHaveProperty('cnf');
    expect(fx.zts.requests.at(-1)).toMatchObject({ principal: 'other.svc', authority: 'cert' });
  });

  it('authenticates role token requests too', async () => {
    const response = await callZts(anonymous, `${fx.zts.url}/domain/sports/token?role=reader`, {
      headers: { [PRINCIPAL_AUTH_HEADER]: nToken(EC_KEY.privateKey, 'demo.agent') },
    });
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    expect(fx.zts.requests.at(-1)).toMatchObject({ endpoint: 'roleToken', authority: 'ntoken' });
  });
});
