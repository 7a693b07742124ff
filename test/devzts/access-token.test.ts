import { X509Certificate, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload } from 'jose';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { callZts, postTokenForm, withDevZts } from '../helpers/devzts.js';
import type { DevZtsFixture, JsonResponse } from '../helpers/devzts.js';

// Asymmetric matchers are typed `any`; pin them to unknown for the type-aware lint.
const anyString: unknown = expect.any(String);
const anyNumber: unknown = expect.any(Number);
const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);

const POLICY: DevZtsPolicy = {
  services: ['demo.agent', 'other.svc'],
  domains: {
    sports: {
      roles: {
        reader: { members: ['demo.agent'] },
        writer: { members: ['demo.agent', 'other.svc'] },
        admin: { members: ['other.svc'] },
      },
    },
    weather: { roles: { viewer: { members: ['demo.agent'] } } },
    capped: {
      tokenExpiry: '1h',
      roles: {
        short: { members: ['demo.agent'], tokenExpiry: '5m' },
        long: { members: ['demo.agent'], tokenExpiry: '3h' },
        plain: { members: ['demo.agent'] },
      },
    },
  },
};

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

let fx: DevZtsFixture;
let agent: Agent;

beforeAll(async () => {
  fx = await withDevZts(POLICY);
  agent = await fx.agent('demo.agent');
});

afterAll(async () => {
  await fx.cleanup();
});

function requestToken(body: string): Promise<JsonResponse> {
  return postTokenForm(agent, fx.zts, body);
}

async function grant(scope: string, extra = ''): Promise<TokenResponse> {
  const response = await requestToken(
    `grant_type=client_credentials&scope=${encodeURIComponent(scope)}${extra}`,
  );
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  return response.json as TokenResponse;
}

async function verified(token: string): Promise<JWTPayload> {
  const { json } = await callZts(agent, fx.zts.jwksUrl);
  const { payload } = await jwtVerify(token, createLocalJWKSet(json as JSONWebKeySet), {
    algorithms: ['ES256'],
    typ: 'at+jwt',
  });
  return payload;
}

describe('POST /oauth2/token', () => {
  it('issues an ES256 at+jwt with the ZTS claims, verifiable with the JWKS', async () => {
    const before = Math.floor(Date.now() / 1000);
    const response = await grant('sports:role.reader');
    expect(response).toEqual({
      access_token: anyString,
      token_type: 'Bearer',
      expires_in: 7200,
    });

    expect(decodeProtectedHeader(response.access_token)).toEqual({
      alg: 'ES256',
      kid: 'devzts.0',
      typ: 'at+jwt',
    });
    const claims = await verified(response.access_token);
    expect(claims).toEqual({
      ver: 1,
      aud: 'sports',
      iss: 'localhost',
      sub: 'demo.agent',
      uid: 'demo.agent',
      client_id: 'demo.agent',
      jti: matching(/^[0-9a-f-]{36}$/),
      scp: ['reader'],
      scope: 'reader',
      iat: anyNumber,
      auth_time: claims.iat,
      exp: (claims.iat ?? 0) + 7200,
      cnf: { 'x5t#S256': anyString },
    });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
  });

  it('binds the token to the client cert with cnf x5t#S256', async () => {
    const { access_token } = await grant('sports:role.reader');
    const pem = await readFile(fx.zts.clientIdentity('demo.agent').certFile);
    const thumbprint = createHash('sha256').update(new X509Certificate(pem).raw).digest();
    const claims = await verified(access_token);
    expect(claims.cnf).toEqual({ 'x5t#S256': thumbprint.toString('base64url') });
  });

  it('leaves scope out when every requested role was granted', async () => {
    const response = await grant('sports:role.reader sports:role.writer');
    expect(response.scope).toBeUndefined();
    expect((await verified(response.access_token)).scp).toEqual(['reader', 'writer']);
  });

  it('echoes the granted scope for :domain requests', async () => {
    const response = await grant('sports:domain');
    expect(response.scope).toBe('sports:role.reader sports:role.writer');
    expect((await verified(response.access_token)).scope).toBe('reader writer');
  });

  it('echoes the granted scope when fewer roles were granted than asked', async () => {
    const response = await grant('sports:role.reader sports:role.admin');
    expect(response.scope).toBe('sports:role.reader');
  });

  it('accepts +-encoded spaces in the form body', async () => {
    const response = await requestToken(
      'grant_type=client_credentials&scope=sports%3Arole.reader+sports%3Arole.writer',
    );
    expect(response.status).toBe(200);
    const claims = await verified((response.json as TokenResponse).access_token);
    expect(claims.scp).toEqual(['reader', 'writer']);
  });

  it('lower-cases grant type, domain and role names', async () => {
    const response = await requestToken('grant_type=CLIENT_CREDENTIALS&scope=SPORTS%3AROLE.Reader');
    expect(response.status).toBe(200);
    const claims = await verified((response.json as TokenResponse).access_token);
    expect(claims).toMatchObject({ aud: 'sports', scp: ['reader'] });
  });

  it('accepts openid with a service but issues no id_token (oauth_openid_scope off)', async () => {
    const response = await grant('openid sports:service.api sports:role.reader');
    expect(response).not.toHaveProperty('id_token');
    expect(response.scope).toBeUndefined();
  });

  it('puts the role in aud on role_in_aud_claim with a single role', async () => {
    const single = await grant('sports:role.reader', '&role_in_aud_claim=true');
    expect((await verified(single.access_token)).aud).toBe('sports:reader');
    const both = await grant('sports:domain', '&role_in_aud_claim=true');
    expect((await verified(both.access_token)).aud).toBe('sports');
  });

  it('uses the OpenID issuer URL as iss on openid_issuer=true', async () => {
    const response = await grant('sports:role.reader', '&openid_issuer=true');
    expect((await verified(response.access_token)).iss).toBe(fx.zts.url);
  });

  it('adds proxy principal SPIFFE URIs to cnf', async () => {
    const uris = encodeURIComponent('spiffe://sports/sa/api');
    const response = await grant('sports:role.reader', `&proxy_principal_spiffe_uris=${uris}`);
    expect((await verified(response.access_token)).cnf).toMatchObject({
      'proxy-principals#spiffe': ['spiffe://sports/sa/api'],
    });
  });

  it('records domain and granted roles in the request log', async () => {
    await grant('sports:domain');
    expect(fx.zts.requests.at(-1)).toMatchObject({
      endpoint: 'accessToken',
      status: 200,
      principal: 'demo.agent',
      domain: 'sports',
      roles: ['reader', 'writer'],
    });
  });
});

describe('access token lifetime', () => {
  async function lifetime(scope: string, expiresIn?: string): Promise<number> {
    const extra = expiresIn === undefined ? '' : `&expires_in=${expiresIn}`;
    const response = await grant(scope, extra);
    // Decoded, not verified: a 1 s token may already be expired by the time it is checked.
    const claims = decodeJwt(response.access_token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(response.expires_in);
    return response.expires_in;
  }

  it('honours a requested lifetime under the cap', async () => {
    expect(await lifetime('sports:role.reader', '600')).toBe(600);
    expect(await lifetime('capped:role.short', '60')).toBe(60);
  });

  it('allows any positive lifetime: there is no minimum', async () => {
    expect(await lifetime('sports:role.reader', '1')).toBe(1);
  });

  it('caps at 30 days', async () => {
    expect(await lifetime('sports:role.reader', '99999999')).toBe(2_592_000);
  });

  it('uses the 7200 s default for a missing, zero, negative or unparsable expires_in', async () => {
    for (const value of [undefined, '0', '-60', 'abc', '1.5', '3600s', '99999999999']) {
      expect(await lifetime('sports:role.reader', value), String(value)).toBe(7200);
    }
  });

  it('grants less than asked when the role caps it', async () => {
    expect(await lifetime('capped:role.short', '3600')).toBe(300);
  });

  it('lets the smallest role cap win among several roles', async () => {
    expect(await lifetime('capped:domain', '9000')).toBe(300);
  });

  it('lets a role cap win over the domain cap', async () => {
    expect(await lifetime('capped:role.long capped:role.plain', '9000')).toBe(9000);
  });

  it('applies the domain cap when no granted role has one', async () => {
    expect(await lifetime('capped:role.plain', '9000')).toBe(3600);
    expect(await lifetime('capped:role.plain', 'abc')).toBe(3600);
  });
});

describe('access token refusals', () => {
  it.each([
    ['an empty body', '', 'Empty request body'],
    [
      'a bad grant_type',
      'grant_type=password&scope=sports%3Adomain',
      'Invalid grant request: password',
    ],
    ['no grant_type', 'scope=sports%3Adomain', 'Invalid grant request: null'],
    ['no scope', 'grant_type=client_credentials', 'Invalid request: no scope provided'],
    [
      'an empty scope',
      'grant_type=client_credentials&scope=',
      'Invalid request: no scope provided',
    ],
    [
      'two domains',
      'grant_type=client_credentials&scope=sports%3Arole.reader+weather%3Arole.viewer',
      'Multiple domains in scope',
    ],
    ['no domain', 'grant_type=client_credentials&scope=openid+reader', 'No domains in scope'],
    [
      'openid without a service',
      'grant_type=client_credentials&scope=openid+sports%3Arole.reader',
      'No audience service name for openid scope',
    ],
    [
      'authorization_details over 1024 characters',
      `grant_type=client_credentials&scope=sports%3Arole.reader&authorization_details=${'x'.repeat(1025)}`,
      'Authorization Details exceeds configured length limit',
    ],
    [
      'authorization_details',
      'grant_type=client_credentials&scope=sports%3Arole.reader&authorization_details=%5B%5D',
      'Authorization Details not valid for this request',
    ],
  ])('answers %s with 400', async (_case, body, message) => {
    const response = await requestToken(body);
    expect(response).toMatchObject({ status: 400, json: { code: 400, message } });
    expect(response.headers['content-type']).toBe('application/json');
  });

  it('answers names outside the Athenz grammar with 400', async () => {
    for (const scope of ['spo$rts:role.reader', 'sports:role.re/ader', 'sports:role.']) {
      const response = await requestToken(
        `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`,
      );
      expect(response.status, scope).toBe(400);
      expect((response.json as { message: string }).message).toMatch(
        /^Invalid (DomainName|EntityName) error/,
      );
    }
  });

  it('answers a role the caller lacks with 403', async () => {
    const response = await requestToken('grant_type=client_credentials&scope=sports%3Arole.admin');
    expect(response).toMatchObject({
      status: 403,
      json: {
        code: 403,
        message:
          'postaccesstokenrequest: principal demo.agent is not included in the requested role(s) in domain sports',
      },
    });
    expect(fx.zts.requests.at(-1)).toMatchObject({ status: 403, domain: 'sports' });
    expect(fx.zts.requests.at(-1)).not.toHaveProperty('roles');
  });

  it('answers an unknown domain with 404', async () => {
    const response = await requestToken('grant_type=client_credentials&scope=nope%3Adomain');
    expect(response).toMatchObject({
      status: 404,
      json: { code: 404, message: 'No such domain: nope' },
    });
  });

  it('answers proxy_for_principal with 403: no caller is an authorized proxy', async () => {
    const response = await requestToken(
      'grant_type=client_credentials&scope=sports%3Adomain&proxy_for_principal=other.svc',
    );
    expect(response.status).toBe(403);
  });

  it('answers another Content-Type with 415', async () => {
    const response = await callZts(agent, `${fx.zts.url}/oauth2/token`, {
      method: 'POST',
      body: 'grant_type=client_credentials&scope=sports%3Adomain',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
    });
    expect(response).toMatchObject({ status: 415, json: { code: 415 } });
  });

  it('accepts the form media type with a charset parameter', async () => {
    const response = await callZts(agent, `${fx.zts.url}/oauth2/token`, {
      method: 'POST',
      body: 'grant_type=client_credentials&scope=sports%3Adomain',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
    });
    expect(response.status).toBe(200);
  });

  it('answers a caller without a client cert with 401 before looking at the body', async () => {
    const anonymous = await fx.anonymousAgent();
    const response = await postTokenForm(anonymous, fx.zts, '');
    expect(response).toMatchObject({
      status: 401,
      json: { code: 401, message: 'Invalid credentials' },
    });
    expect(response.headers['www-authenticate']).toBe('AthenzPrincipalToken realm="athenz"');
  });
});

describe('access token issuer option', () => {
  it('uses the configured issuer', async () => {
    const other = await withDevZts(POLICY, { issuer: 'zts.example.com' });
    try {
      const response = await postTokenForm(
        await other.agent(),
        other.zts,
        'grant_type=client_credentials&scope=sports%3Adomain',
      );
      const { json } = await callZts(await other.agent(), other.zts.jwksUrl);
      const { payload } = await jwtVerify(
        (response.json as TokenResponse).access_token,
        createLocalJWKSet(json as JSONWebKeySet),
        { issuer: 'zts.example.com', audience: 'sports' },
      );
      expect(payload.sub).toBe('demo.agent');
    } finally {
      await other.cleanup();
    }
  });
});
