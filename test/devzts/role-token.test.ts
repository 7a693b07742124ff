import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseRoleToken } from '../../src/athenz/role-token.js';
import { verifyToken } from '../../src/athenz/signed-token.js';
import { ybase64Decode } from '../../src/athenz/ybase64.js';
import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { callZts, withDevZts } from '../helpers/devzts.js';
import type { DevZtsFixture, JsonResponse } from '../helpers/devzts.js';

const POLICY: DevZtsPolicy = {
  services: ['demo.agent'],
  domains: {
    sports: {
      roles: {
        reader: { members: ['demo.agent'] },
        writer: { members: ['demo.agent'] },
        admin: { members: ['other.svc'] },
      },
    },
    capped: {
      tokenExpiry: '1h',
      roles: {
        short: { members: ['demo.agent'], tokenExpiry: '5m' },
        plain: { members: ['demo.agent'] },
      },
    },
  },
};

interface RoleTokenResponse {
  token: string;
  expiryTime: number;
}

let fx: DevZtsFixture;
let agent: Agent;

beforeAll(async () => {
  fx = await withDevZts(POLICY);
  agent = await fx.agent();
});

afterAll(async () => {
  await fx.cleanup();
});

function get(path: string, dispatcher: Agent = agent): Promise<JsonResponse> {
  return callZts(dispatcher, `${fx.zts.url}${path}`);
}

async function roleToken(query: string, domain = 'sports'): Promise<RoleTokenResponse> {
  const response = await get(`/domain/${domain}/token${query}`);
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  return response.json as RoleTokenResponse;
}

async function publicKeyPem(keyId: string): Promise<string> {
  const response = await get(`/domain/sys.auth/service/zts/publickey/${keyId}`);
  expect(response.status).toBe(200);
  const { key, id } = response.json as { key: string; id: string };
  expect(id).toBe(keyId);
  return ybase64Decode(key).toString('utf8');
}

describe('GET /domain/{domain}/token', () => {
  it('issues a Z1 role token with the upstream fields', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { token, expiryTime } = await roleToken('?role=reader');
    expect(token).toMatch(
      /^v=Z1;d=sports;r=reader;p=demo\.agent;h=localhost;a=[0-9a-f]{16};t=\d+;e=\d+;k=devzts\.0;i=127\.0\.0\.1;s=[A-Za-z0-9._-]+$/,
    );
    const claims = parseRoleToken(token);
    expect(claims).toMatchObject({
      domain: 'sports',
      roles: ['reader'],
      complete: false,
      principal: 'demo.agent',
      host: 'localhost',
      keyId: 'devzts.0',
      ip: '127.0.0.1',
    });
    expect(claims?.issuedAt).toBeGreaterThanOrEqual(before);
    expect(claims?.expiresAt).toBe((claims?.issuedAt ?? 0) + 7200);
    expect(expiryTime).toBe(claims?.expiresAt);
  });

  it('signs so that the sys.auth.zts public key verifies the token', async () => {
    const { token } = await roleToken('?role=reader,writer');
    const keyId = parseRoleToken(token)?.keyId ?? '';
    const pem = await publicKeyPem(keyId);
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(verifyToken(token, pem)).toBe(true);
    expect(verifyToken(token.replace('r=reader,writer', 'r=reader,admin'), pem)).toBe(false);
  });

  it('sets c=1 and grants every held role only when role is omitted', async () => {
    const all = parseRoleToken((await roleToken('')).token);
    expect(all).toMatchObject({ roles: ['reader', 'writer'], complete: true });
    const empty = parseRoleToken((await roleToken('?role=')).token);
    expect(empty).toMatchObject({ roles: ['reader', 'writer'], complete: true });
    const named = parseRoleToken((await roleToken('?role=reader,writer')).token);
    expect(named).toMatchObject({ roles: ['reader', 'writer'], complete: false });
  });

  it('grants the held subset of the requested roles', async () => {
    const claims = parseRoleToken((await roleToken('?role=reader,admin')).token);
    expect(claims?.roles).toEqual(['reader']);
  });

  it('lower-cases the domain and role names', async () => {
    const claims = parseRoleToken((await roleToken('?role=READER', 'Sports')).token);
    expect(claims).toMatchObject({ domain: 'sports', roles: ['reader'] });
    expect(fx.zts.requests.at(-1)).toMatchObject({
      endpoint: 'roleToken',
      domain: 'sports',
      roles: ['reader'],
    });
  });
});

describe('role token lifetime', () => {
  async function lifetime(query: string, domain = 'sports'): Promise<number> {
    const { token, expiryTime } = await roleToken(query, domain);
    const claims = parseRoleToken(token);
    expect(expiryTime).toBe(claims?.expiresAt);
    return (claims?.expiresAt ?? 0) - (claims?.issuedAt ?? 0);
  }

  it('uses maxExpiryTime when positive', async () => {
    expect(await lifetime('?role=reader&maxExpiryTime=600')).toBe(600);
    expect(await lifetime('?role=reader&maxExpiryTime=500&minExpiryTime=10000')).toBe(500);
  });

  it('uses minExpiryTime only above the 7200 s default', async () => {
    expect(await lifetime('?role=reader&minExpiryTime=10000')).toBe(10_000);
    expect(await lifetime('?role=reader&minExpiryTime=900')).toBe(7200);
    expect(await lifetime('?role=reader&maxExpiryTime=0&minExpiryTime=9000')).toBe(9000);
  });

  it('defaults to 7200 s and caps at 30 days', async () => {
    expect(await lifetime('?role=reader')).toBe(7200);
    expect(await lifetime('?role=reader&maxExpiryTime=-1')).toBe(7200);
    expect(await lifetime('?role=reader&maxExpiryTime=2147483647')).toBe(2_592_000);
  });

  it('applies the role cap, else the domain cap', async () => {
    expect(await lifetime('?role=short&maxExpiryTime=3600', 'capped')).toBe(300);
    expect(await lifetime('?role=plain&minExpiryTime=9000', 'capped')).toBe(3600);
    expect(await lifetime('', 'capped')).toBe(300);
  });
});

describe('role token refusals', () => {
  it('answers a caller without a client cert with 401', async () => {
    const response = await get('/domain/sports/token', await fx.anonymousAgent());
    expect(response).toMatchObject({
      status: 401,
      json: { code: 401, message: 'Invalid credentials' },
    });
  });

  it('answers roles the caller does not hold with 403', async () => {
    expect(await get('/domain/sports/token?role=admin')).toMatchObject({
      status: 403,
      json: {
        code: 403,
        message:
          'getroletoken: principal demo.agent is not included in the requested role(s) in domain sports',
      },
    });
  });

  it('answers a domain where the caller holds nothing with 403 naming "any role"', async () => {
    fx.zts.setPolicy({ services: [], domains: { sports: { roles: {} } } });
    try {
      expect(await get('/domain/sports/token')).toMatchObject({
        status: 403,
        json: {
          message:
            'getroletoken: principal demo.agent is not included in any role in domain sports',
        },
      });
    } finally {
      fx.zts.setPolicy(POLICY);
    }
  });

  it('answers an unknown domain with 404', async () => {
    expect(await get('/domain/nope/token?role=reader')).toMatchObject({
      status: 404,
      json: { code: 404, message: 'getRoleToken: No such domain: nope' },
    });
  });

  it.each([
    ['a domain outside the grammar', '/domain/bad%24name/token', /^Invalid DomainName error/],
    [
      'an empty role in the list',
      '/domain/sports/token?role=reader,,writer',
      /^Invalid EntityList/,
    ],
    ['a trailing comma', '/domain/sports/token?role=reader,', /^Invalid EntityList error/],
    ['a role with a slash', '/domain/sports/token?role=re%2Fader', /^Invalid EntityList error/],
  ])('answers %s with 400', async (_case, path, message) => {
    const response = await get(path);
    expect(response.status).toBe(400);
    expect((response.json as { message: string }).message).toMatch(message);
  });

  it('answers non-integer expiry parameters with 404, as JAX-RS does', async () => {
    for (const query of ['minExpiryTime=abc', 'maxExpiryTime=1.5', 'maxExpiryTime=99999999999']) {
      expect((await get(`/domain/sports/token?${query}`)).status, query).toBe(404);
    }
  });

  it('answers proxyForPrincipal with 403: no caller is an authorized proxy', async () => {
    expect(await get('/domain/sports/token?proxyForPrincipal=other.svc')).toMatchObject({
      status: 403,
      json: {
        message: 'getRoleToken: Principal: demo.agent not authorized for proxy role token request',
      },
    });
  });
});
