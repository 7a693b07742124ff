import type { X509Certificate } from 'node:crypto';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PRINCIPAL_AUTH_HEADER } from '../../src/athenz/principal-token.js';
import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { callZts, postJson, postTokenForm, withDevZts } from '../helpers/devzts.js';
import type { DevZtsFixture, JsonResponse } from '../helpers/devzts.js';
import {
  buildCsr,
  certTimes,
  issuedByCa,
  nToken,
  nTokenKey,
  tamperSignature,
} from './credentials.js';
import type { CsrSpec } from './credentials.js';

const anyNumber: unknown = expect.any(Number);

const AGENT_KEY = nTokenKey();

const POLICY: DevZtsPolicy = {
  services: ['demo.agent', 'other.svc'],
  publicKeys: { 'demo.agent': { '0': AGENT_KEY.publicKeyPem } },
  domains: {
    sports: {
      certExpiry: '1h',
      roles: {
        reader: { members: ['demo.agent'], certExpiry: '10m' },
        writer: { members: ['demo.agent'] },
        admin: { members: ['other.svc'] },
      },
    },
    weather: { roles: { viewer: { members: ['demo.agent'] } } },
  },
};

const PROOF = 'athenz://principal/demo.agent';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

let fx: DevZtsFixture;
let agent: Agent;
let anonymous: Agent;

beforeAll(async () => {
  fx = await withDevZts(POLICY);
  agent = await fx.agent('demo.agent');
  anonymous = await fx.anonymousAgent();
});

afterAll(async () => {
  await fx.cleanup();
});

function roleCsr(cn: string, spec: Omit<CsrSpec, 'cn'> = { uris: [PROOF] }) {
  return buildCsr({ cn, ...spec });
}

async function requestRoleCert(
  body: unknown,
  dispatcher: Agent = agent,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return postJson(dispatcher, `${fx.zts.url}/rolecert`, body, headers);
}

async function issued(response: JsonResponse): Promise<X509Certificate> {
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  const { x509Certificate } = response.json as { x509Certificate: string };
  return issuedByCa(x509Certificate, fx.zts.caFile);
}

function expectError(response: JsonResponse, status: number, message: string | RegExp): void {
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  const body = response.json as { code: number; message: string };
  expect(body.code).toBe(status);
  if (typeof message === 'string') {
    expect(body.message).toBe(message);
  } else {
    expect(body.message).toMatch(message);
  }
}

describe('POST /rolecert', () => {
  it('signs an EC CSR: chained to the dev CA, subject and SANs copied, client use only', async () => {
    const { csr } = await roleCsr('sports:role.reader', {
      uris: ['spiffe://sports/ra/reader', PROOF],
      dns: ['agent.demo.athenz.cloud'],
    });
    const cert = await issued(await requestRoleCert({ csr, expiryTime: 0 }));
    expect(cert.subject).toContain('CN=sports:role.reader');
    expect(cert.subject).toContain('O=Athenz Test');
    expect(cert.subjectAltName).toContain('URI:spiffe://sports/ra/reader');
    expect(cert.subjectAltName).toContain(`URI:${PROOF}`);
    expect(cert.subjectAltName).toContain('DNS:agent.demo.athenz.cloud');
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
    expect(cert.ca).toBe(false);

    const { lifetimeMins, backdateMins } = certTimes(cert);
    expect(backdateMins).toBeGreaterThan(59);
    expect(backdateMins).toBeLessThan(61);
    // The role cap (10m) beats the domain cap (1h) when nothing is requested.
    expect(lifetimeMins).toBeGreaterThan(9.9);
    expect(lifetimeMins).toBeLessThanOrEqual(10);
  });

  it('signs an RSA 2048 CSR proven by a SAN email under the cert DNS suffix', async () => {
    const { csr } = await roleCsr('sports:role.writer', {
      key: 'rsa',
      emails: ['demo.agent@athenz.cloud'],
    });
    const cert = await issued(await requestRoleCert({ csr, expiryTime: 30 }));
    expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
    expect(cert.subjectAltName).toBe('email:demo.agent@athenz.cloud');
    expect(certTimes(cert).lifetimeMins).toBeCloseTo(30, 0);
  });

  it('lets the requested minutes only shorten the policy cap', async () => {
    const lifetime = async (cn: string, expiryTime: number): Promise<number> => {
      const { csr } = await roleCsr(cn);
      return certTimes(await issued(await requestRoleCert({ csr, expiryTime }))).lifetimeMins;
    };
    expect(await lifetime('sports:role.reader', 5)).toBeCloseTo(5, 0);
    expect(await lifetime('sports:role.reader', 60)).toBeCloseTo(10, 0);
    expect(await lifetime('sports:role.writer', 0)).toBeCloseTo(60, 0);
    expect(await lifetime('sports:role.writer', 90)).toBeCloseTo(60, 0);
    // No caps: the request as given, else the signer max of 30 days.
    expect(await lifetime('weather:role.viewer', 90)).toBeCloseTo(90, 0);
    expect(await lifetime('weather:role.viewer', 0)).toBeCloseTo(43_200, 0);
    expect(await lifetime('weather:role.viewer', 100_000)).toBeCloseTo(43_200, 0);
  });

  it('accepts the SPIFFE trust-domain form and treats expiryTime as optional', async () => {
    const { csr } = await roleCsr('weather:role.viewer', {
      uris: ['spiffe://athenz.io/ns/weather/ra/viewer', PROOF],
    });
    await issued(await requestRoleCert({ csr }));
  });

  it('records endpoint, principal, authority, domain, role and the requested minutes', async () => {
    const { csr } = await roleCsr('sports:role.reader');
    await issued(await requestRoleCert({ csr, expiryTime: 7 }));
    expect(fx.zts.requests.at(-1)).toMatchObject({
      at: anyNumber,
      method: 'POST',
      path: '/zts/v1/rolecert',
      endpoint: 'roleCert',
      status: 200,
      principal: 'demo.agent',
      authority: 'cert',
      domain: 'sports',
      roles: ['reader'],
      requestedExpiryMins: 7,
    });
  });

  it('refuses a CSR without any principal proof', async () => {
    const { csr } = await roleCsr('sports:role.reader', { uris: ['spiffe://sports/ra/reader'] });
    expectError(
      await requestRoleCert({ csr, expiryTime: 0 }),
      400,
      'Unable to validate cert request',
    );
  });

  it('refuses a principal URI naming someone else', async () => {
    const { csr } = await roleCsr('sports:role.reader', { uris: ['athenz://principal/other.svc'] });
    expectError(
      await requestRoleCert({ csr, expiryTime: 0 }),
      400,
      'Unable to validate cert request',
    );
  });

  it('refuses emails with another suffix, another principal, or more than one', async () => {
    for (const emails of [
      ['demo.agent@example.com'],
      ['other.svc@athenz.cloud'],
      ['demo.agent@athenz.cloud', 'demo.agent@zts.athenz.cloud'],
    ]) {
      const { csr } = await roleCsr('sports:role.reader', { emails });
      expectError(
        await requestRoleCert({ csr, expiryTime: 0 }),
        400,
        'Unable to validate cert request',
      );
    }
    // With a valid principal URI, any email must still be valid too.
    const { csr } = await roleCsr('sports:role.reader', {
      uris: [PROOF],
      emails: ['demo.agent@example.com'],
    });
    expectError(
      await requestRoleCert({ csr, expiryTime: 0 }),
      400,
      'Unable to validate cert request',
    );
  });

  it('compares the email to cert_dns_suffix with a plain endsWith, as upstream does', async () => {
    const { csr } = await roleCsr('sports:role.reader', {
      emails: ['demo.agent@zts.athenz.cloud'],
    });
    await issued(await requestRoleCert({ csr, expiryTime: 0 }));

    fx.zts.setPolicy({ ...POLICY, certDnsSuffix: 'example.com,.athenz.cloud' });
    try {
      const example = await roleCsr('sports:role.reader', { emails: ['demo.agent@example.com'] });
      await issued(await requestRoleCert({ csr: example.csr, expiryTime: 0 }));
      // Upstream's default suffix has a leading dot, which a bare `@athenz.cloud` does not match.
      const bare = await roleCsr('sports:role.reader', { emails: ['demo.agent@athenz.cloud'] });
      expectError(await requestRoleCert({ csr: bare.csr }), 400, 'Unable to validate cert request');
    } finally {
      fx.zts.setPolicy(POLICY);
    }
  });

  it('refuses two SPIFFE URIs, or one for another role', async () => {
    const two = await roleCsr('sports:role.reader', {
      uris: ['spiffe://sports/ra/reader', 'spiffe://athenz.io/ns/sports/ra/reader', PROOF],
    });
    expectError(
      await requestRoleCert({ csr: two.csr, expiryTime: 0 }),
      400,
      'Unable to parse PKCS10 CSR: Invalid SPIFFE URI present in CSR',
    );
    const wrong = await roleCsr('sports:role.reader', {
      uris: ['spiffe://sports/ra/writer', PROOF],
    });
    expectError(
      await requestRoleCert({ csr: wrong.csr, expiryTime: 0 }),
      400,
      'Unable to validate cert request',
    );
  });

  it('refuses a CN that is not a role, a CSR that is not one, and a bad signature', async () => {
    const service = await roleCsr('demo.agent');
    expectError(
      await requestRoleCert({ csr: service.csr, expiryTime: 0 }),
      400,
      'Unable to parse PKCS10 CSR: Role Certificate CN is not a valid role: demo.agent',
    );
    expectError(
      await requestRoleCert({ csr: 'not a csr', expiryTime: 0 }),
      400,
      'Unable to parse PKCS10 CSR: Invalid csr provided',
    );
    const good = await roleCsr('sports:role.reader');
    expectError(
      await requestRoleCert({ csr: tamperSignature(good.csr), expiryTime: 0 }),
      400,
      'Unable to parse PKCS10 CSR: CSR signature does not verify',
    );
  });

  it('answers 403 to a non-member and 404 for an unknown domain', async () => {
    const admin = await roleCsr('sports:role.admin');
    expectError(
      await requestRoleCert({ csr: admin.csr, expiryTime: 0 }),
      403,
      'postrolecertificaterequestext: principal demo.agent is not included in the requested role(s) in domain sports',
    );
    const nowhere = await roleCsr('nowhere:role.reader');
    expectError(
      await requestRoleCert({ csr: nowhere.csr, expiryTime: 0 }),
      404,
      'No such domain: nowhere',
    );
  });

  it('refuses instance ids and hostnames that the caller cert does not carry', async () => {
    for (const uri of ['athenz://instanceid/sys.auth.k8s/pod-1', 'athenz://hostname/h.example']) {
      const { csr } = await roleCsr('sports:role.reader', { uris: [PROOF, uri] });
      expectError(
        await requestRoleCert({ csr, expiryTime: 0 }),
        400,
        'Unable to validate cert request',
      );
    }
  });

  it('refuses proxy requests and malformed bodies', async () => {
    const { csr } = await roleCsr('sports:role.reader');
    expectError(
      await requestRoleCert({ csr, expiryTime: 0, proxyForPrincipal: 'other.svc' }),
      403,
      'Principal: demo.agent not authorized for proxy role certificate request',
    );
    expectError(await requestRoleCert('{"csr":'), 400, 'Invalid JSON in request body');
    expectError(await requestRoleCert(''), 400, 'Missing or malformed RoleCertificateRequest');
    expectError(
      await requestRoleCert({ expiryTime: 0 }),
      400,
      'Invalid RoleCertificateRequest error: RoleCertificateRequest.csr: missing',
    );
    expectError(
      await requestRoleCert({ csr, expiryTime: 'soon' }),
      400,
      /^Invalid RoleCertificateRequest error: RoleCertificateRequest\.expiryTime: /,
    );
  });

  it('needs credentials', async () => {
    const { csr } = await roleCsr('sports:role.reader');
    expectError(
      await requestRoleCert({ csr, expiryTime: 0 }, anonymous),
      401,
      'Invalid credentials',
    );
  });

  it('serves an N-token caller, matching the token principal', async () => {
    const { csr } = await roleCsr('sports:role.reader');
    const headers = { [PRINCIPAL_AUTH_HEADER]: nToken(AGENT_KEY.privateKey, 'demo.agent') };
    await issued(await requestRoleCert({ csr, expiryTime: 0 }, anonymous, headers));
    expect(fx.zts.requests.at(-1)).toMatchObject({ principal: 'demo.agent', authority: 'ntoken' });

    // An N-token caller has no cert, so the CSR cannot claim an instance id.
    const withId = await roleCsr('sports:role.reader', {
      uris: [PROOF, 'athenz://instanceid/sys.auth.k8s/pod-1'],
    });
    expectError(
      await requestRoleCert({ csr: withId.csr, expiryTime: 0 }, anonymous, headers),
      400,
      'Unable to validate cert request',
    );
  });

  it('refuses a role-cert identity, which only gets its own role in tokens', async () => {
    const { csr, keyPem } = await roleCsr('sports:role.reader');
    const response = await requestRoleCert({ csr, expiryTime: 0 });
    const { x509Certificate } = response.json as { x509Certificate: string };
    const roleAgent = await fx.pemAgent(x509Certificate, keyPem);

    const again = await roleCsr('sports:role.reader');
    expectError(
      await requestRoleCert({ csr: again.csr, expiryTime: 0 }, roleAgent),
      403,
      'Role Identity not authorized for request',
    );

    const own = await postTokenForm(
      roleAgent,
      fx.zts,
      'grant_type=client_credentials&scope=sports%3Arole.reader',
    );
    expect(own.status).toBe(200);
    expect(fx.zts.requests.at(-1)).toMatchObject({ principal: 'demo.agent', authority: 'cert' });
    const other = await postTokenForm(
      roleAgent,
      fx.zts,
      'grant_type=client_credentials&scope=sports%3Arole.writer',
    );
    expectError(other, 403, 'Role based Principal does not include all roles');
    const roleToken = await callZts(roleAgent, `${fx.zts.url}/domain/sports/token?role=writer`);
    expectError(roleToken, 403, 'getRoleToken: Role based Principal does not include all roles');
  });
});

describe('POST /domain/{domain}/role/{role}/token (deprecated)', () => {
  const url = (domain: string, role: string): string =>
    `${fx.zts.url}/domain/${domain}/role/${role}/token`;

  it('answers a RoleToken with the PEM and its notAfter in epoch seconds', async () => {
    const { csr } = await roleCsr('sports:role.reader');
    const response = await postJson(agent, url('sports', 'reader'), { csr, expiryTime: 5 });
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    const { token, expiryTime } = response.json as { token: string; expiryTime: number };
    const cert = await issuedByCa(token, fx.zts.caFile);
    expect(expiryTime).toBe(Math.floor(Date.parse(cert.validTo) / 1000));
    expect(certTimes(cert).lifetimeMins).toBeCloseTo(5, 0);
    expect(fx.zts.requests.at(-1)).toMatchObject({
      endpoint: 'roleCertLegacy',
      status: 200,
      domain: 'sports',
      roles: ['reader'],
      requestedExpiryMins: 5,
    });
  });

  it('refuses a CN that is not the role in the path', async () => {
    const { csr } = await roleCsr('sports:role.reader');
    expectError(
      await postJson(agent, url('sports', 'writer'), { csr, expiryTime: 0 }),
      400,
      'Role Certificate Request mismatch: sports:role.reader/sports:role.writer',
    );
    const upper = await roleCsr('Sports:role.reader');
    expectError(
      await postJson(agent, url('Sports', 'reader'), { csr: upper.csr, expiryTime: 0 }),
      400,
      'Role Certificate Request mismatch: Sports:role.reader/sports:role.reader',
    );
  });

  it('runs the same membership and identity checks', async () => {
    const { csr } = await roleCsr('sports:role.admin');
    expectError(
      await postJson(agent, url('sports', 'admin'), { csr, expiryTime: 0 }),
      403,
      'postrolecertificaterequest: principal demo.agent is not included in the requested role(s) in domain sports',
    );
    expectError(
      await postJson(agent, url('sports', 'bad/role'), { csr, expiryTime: 0 }),
      404,
      'Not Found',
    );
  });
});

describe('the certDnsSuffix start option', () => {
  it('beats the policy, and is held to the same rule', async () => {
    const own = await withDevZts(
      { ...POLICY, certDnsSuffix: 'athenz.cloud' },
      { certDnsSuffix: 'corp.example' },
    );
    try {
      const ownAgent = await own.agent('demo.agent');
      const send = async (email: string): Promise<number> => {
        const { csr } = await buildCsr({ cn: 'sports:role.reader', emails: [email] });
        return (await postJson(ownAgent, `${own.zts.url}/rolecert`, { csr, expiryTime: 0 })).status;
      };
      expect(await send('demo.agent@corp.example')).toBe(200);
      expect(await send('demo.agent@athenz.cloud')).toBe(400);
    } finally {
      await own.cleanup();
    }
    await expect(withDevZts(POLICY, { certDnsSuffix: 'not a suffix' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});
