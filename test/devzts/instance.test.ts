import type { X509Certificate } from 'node:crypto';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PRINCIPAL_AUTH_HEADER } from '../../src/athenz/principal-token.js';
import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { callZts, postJson, withDevZts } from '../helpers/devzts.js';
import type { DevZtsFixture, JsonResponse } from '../helpers/devzts.js';
import { buildCsr, certTimes, issuedByCa, nToken, nTokenKey } from './credentials.js';
import type { SanSpec } from './credentials.js';

const PROVIDER = 'sys.auth.k8s';
const ATTESTATION = 'attest-token-1';
const API_KEY = nTokenKey();

const POLICY: DevZtsPolicy = {
  services: ['demo.agent'],
  publicKeys: { 'sports.api': { '0': API_KEY.publicKeyPem } },
  providers: {
    [PROVIDER]: {
      attestation: [ATTESTATION],
      refresh: true,
      certExpiry: '7d',
      dnsSuffix: 'athenz.cloud',
      services: ['sports.api', 'capped.api'],
    },
    'sys.auth.oneshot': {
      attestation: [ATTESTATION],
      refresh: false,
      dnsSuffix: 'athenz.cloud',
      services: ['sports.api'],
    },
  },
  domains: {
    sports: { roles: {} },
    weather: { roles: {} },
    capped: { serviceCertExpiry: '2h', roles: {} },
  },
};

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

interface InstanceIdentity {
  provider: string;
  name: string;
  instanceId: string;
  x509Certificate: string;
  x509CertificateSigner: string;
}

/** A registered instance: its identity cert and key, as the workload would keep them. */
interface Workload {
  id: string;
  cert: string;
  key: string;
}

let fx: DevZtsFixture;
let anonymous: Agent;
let podCounter = 0;

beforeAll(async () => {
  fx = await withDevZts(POLICY);
  anonymous = await fx.anonymousAgent();
});

afterAll(async () => {
  await fx.cleanup();
});

function nextPod(): string {
  podCounter += 1;
  return `pod-${podCounter}`;
}

/** The CSR SIA sends for `<domain>.<service>` on a pod: CN, three DNS names, the SPIFFE URI. */
function serviceCsr(id: string, principal = 'sports.api', sans: SanSpec = {}) {
  const dot = principal.lastIndexOf('.');
  const domain = principal.slice(0, dot);
  const service = principal.slice(dot + 1);
  const dashed = `${service}.${domain.replaceAll('.', '-')}.athenz.cloud`;
  return buildCsr({
    cn: principal,
    dns: sans.dns ?? [dashed, `*.${dashed}`, `${id}.instanceid.athenz.athenz.cloud`],
    uris: sans.uris ?? [`spiffe://${domain}/sa/${service}`],
    ...(sans.emails === undefined ? {} : { emails: sans.emails }),
  });
}

function register(body: Record<string, unknown>, dispatcher: Agent = anonymous) {
  return postJson(dispatcher, `${fx.zts.url}/instance`, body);
}

function registerBody(csr: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    provider: PROVIDER,
    domain: 'sports',
    service: 'api',
    attestationData: ATTESTATION,
    csr,
    ...extra,
  };
}

function instanceUrl(id: string, provider = PROVIDER, principal = 'sports/api'): string {
  return `${fx.zts.url}/instance/${provider}/${principal}/${id}`;
}

async function registered(id = nextPod(), provider = PROVIDER): Promise<Workload> {
  const { csr, keyPem } = await serviceCsr(id);
  const response = await register(registerBody(csr, { provider }));
  expect(response.status, JSON.stringify(response.json)).toBe(201);
  return { id, cert: (response.json as InstanceIdentity).x509Certificate, key: keyPem };
}

async function refresh(
  workload: Workload,
  body: Record<string, unknown>,
  url = instanceUrl(workload.id),
): Promise<JsonResponse> {
  return postJson(await fx.pemAgent(workload.cert, workload.key), url, body);
}

/** Refreshes with a fresh CSR and returns the workload holding the new cert. */
async function refreshed(workload: Workload): Promise<Workload> {
  const { csr, keyPem } = await serviceCsr(workload.id);
  const response = await refresh(workload, { csr });
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  return {
    id: workload.id,
    cert: (response.json as InstanceIdentity).x509Certificate,
    key: keyPem,
  };
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

async function lifetimeOf(response: JsonResponse): Promise<number> {
  expect(response.status, JSON.stringify(response.json)).toBe(201);
  const { x509Certificate } = response.json as InstanceIdentity;
  return certTimes(await issuedByCa(x509Certificate, fx.zts.caFile)).lifetimeMins;
}

describe('POST /instance', () => {
  it('answers 201 with Location and the InstanceIdentity, without credentials', async () => {
    const id = nextPod();
    const { csr } = await serviceCsr(id);
    const response = await register(registerBody(csr));
    expect(response.status, JSON.stringify(response.json)).toBe(201);
    expect(response.headers.location).toBe(`/zts/v1/instance/${PROVIDER}/sports/api/${id}`);
    const identity = response.json as InstanceIdentity;
    expect(identity).toMatchObject({ provider: PROVIDER, name: 'sports.api', instanceId: id });
    expect(identity.x509CertificateSigner).toBe(await readCa());

    const cert: X509Certificate = await issuedByCa(identity.x509Certificate, fx.zts.caFile);
    expect(cert.subject).toContain('CN=sports.api');
    expect(cert.subjectAltName).toContain(`DNS:${id}.instanceid.athenz.athenz.cloud`);
    expect(cert.subjectAltName).toContain('URI:spiffe://sports/sa/api');
    expect(cert.keyUsage).toEqual([SERVER_AUTH, CLIENT_AUTH]);
    const { lifetimeMins, backdateMins } = certTimes(cert);
    expect(backdateMins).toBeCloseTo(60, 0);
    expect(lifetimeMins).toBeCloseTo(7 * 1440, 0);

    expect(fx.zts.requests.at(-1)).toEqual({
      at: expect.any(Number) as unknown,
      method: 'POST',
      path: '/zts/v1/instance',
      endpoint: 'instanceRegister',
      status: 201,
      domain: 'sports',
      instanceId: id,
    });
  });

  it('takes the lifetime from the request, the provider and the domain', async () => {
    const lifetime = async (extra: Record<string, unknown>, principal = 'sports.api') => {
      const { csr } = await serviceCsr(nextPod(), principal);
      const [domain, service] = principal.split('.');
      return lifetimeOf(await register(registerBody(csr, { domain, service, ...extra })));
    };
    expect(await lifetime({ expiryTime: 60 })).toBeCloseTo(60, 0);
    expect(await lifetime({ expiryTime: 20_000 })).toBeCloseTo(7 * 1440, 0);
    // Upstream quirk (getServiceCertRequestExpiryTime): 0 replaces the provider cap with the
    // signer default, 30 days.
    expect(await lifetime({ expiryTime: 0 })).toBeCloseTo(43_200, 0);
    expect(await lifetime({}, 'capped.api')).toBeCloseTo(120, 0);
    expect(await lifetime({ expiryTime: 30 }, 'capped.api')).toBeCloseTo(30, 0);
    expect(fx.zts.requests.at(-1)).toMatchObject({ requestedExpiryMins: 30 });
  });

  it('takes the instance id from the URI first, then DNS, then x509CertInstanceId', async () => {
    const uri = await serviceCsr('x', 'sports.api', {
      uris: ['spiffe://sports/sa/api', `athenz://instanceid/${PROVIDER}/from-uri`],
      dns: ['api.sports.athenz.cloud'],
    });
    const viaUri = await register(registerBody(uri.csr, { x509CertInstanceId: 'from-field' }));
    expect((viaUri.json as InstanceIdentity).instanceId).toBe('from-uri');

    const bare = await serviceCsr('x', 'sports.api', { dns: ['api.sports.athenz.cloud'] });
    const viaField = await register(registerBody(bare.csr, { x509CertInstanceId: 'from-field' }));
    expect(viaField.status).toBe(201);
    expect(viaField.headers.location).toMatch(/\/from-field$/);
    expectError(
      await register(registerBody(bare.csr)),
      400,
      'CSR validation failed - InstanceId cannot be empty',
    );
  });

  // undici sends no User-Agent, which Java prints as "null".
  it('refuses attestation data the provider does not accept', async () => {
    const { csr } = await serviceCsr(nextPod());
    expectError(
      await register(registerBody(csr, { attestationData: 'forged' })),
      403,
      /^unable to verify attestation data: attestation data not accepted by provider sys\.auth\.k8s client: null clientIP: 127\.0\.0\.1 clientHost: null$/,
    );
  });

  it('refuses SAN DNS names outside the provider suffix or the service forms', async () => {
    const id = nextPod();
    const foreign = await serviceCsr(id, 'sports.api', {
      dns: ['api.sports.example.com'],
      uris: [`athenz://instanceid/${PROVIDER}/${id}`],
    });
    expectError(
      await register(registerBody(foreign.csr)),
      400,
      'CSR validation failed - api.sports.example.com does not end with provider/service configured suffix or hostname',
    );
    const other = await serviceCsr(id, 'sports.api', {
      dns: [`${id}.instanceid.athenz.athenz.cloud`, 'db.sports.athenz.cloud'],
    });
    expectError(
      await register(registerBody(other.csr)),
      400,
      /^CSR validation failed - db\.sports\.athenz\.cloud is not a service or instance name/,
    );
  });

  it('checks the CN, the SPIFFE URI and the hostname URI', async () => {
    const id = nextPod();
    const cn = await serviceCsr(id, 'sports.web');
    expectError(
      await register(registerBody(cn.csr)),
      400,
      'CSR validation failed - Unable to validate CSR common name',
    );
    const spiffe = await serviceCsr(id, 'sports.api', { uris: ['spiffe://sports/sa/web'] });
    expectError(
      await register(registerBody(spiffe.csr)),
      400,
      'CSR validation failed - Unable to validate Service SPIFFE URI',
    );
    const trust = await serviceCsr(id, 'sports.api', {
      uris: ['spiffe://athenz.io/ns/prod/sa/sports.api'],
    });
    expect((await register(registerBody(trust.csr, { namespace: 'prod' }))).status).toBe(201);
    const host = await serviceCsr(id, 'sports.api', {
      uris: ['spiffe://sports/sa/api', 'athenz://hostname/h1.athenz.cloud'],
    });
    expectError(
      await register(registerBody(host.csr, { hostname: 'h2.athenz.cloud' })),
      400,
      'CSR validation failed - Instance/Uri hostname mismatch: h2.athenz.cloud vs. h1.athenz.cloud',
    );
  });

  it('refuses providers that may not launch the service, unknown domains and bad bodies', async () => {
    const weather = await serviceCsr(nextPod(), 'weather.api');
    expectError(
      await register(registerBody(weather.csr, { domain: 'weather' })),
      403,
      "provider 'sys.auth.k8s' not authorized to launch weather.api instances",
    );
    const { csr } = await serviceCsr(nextPod());
    expectError(
      await register(registerBody(csr, { provider: 'sys.auth.unknown' })),
      403,
      "provider 'sys.auth.unknown' not authorized to launch instances in Athenz",
    );
    expectError(
      await register(registerBody(csr, { domain: 'nowhere' })),
      404,
      'Domain not found: nowhere',
    );
    expectError(
      await register(registerBody(csr, { service: 'a.b' })),
      400,
      /^Invalid InstanceRegisterInformation error: InstanceRegisterInformation\.service: /,
    );
    expectError(
      await register(registerBody('garbage')),
      400,
      'unable to parse PKCS10 CSR: Invalid csr provided',
    );
  });

  it('refuses credentials that were presented but do not authenticate', async () => {
    const { csr } = await serviceCsr(nextPod());
    const response = await postJson(anonymous, `${fx.zts.url}/instance`, registerBody(csr), {
      [PRINCIPAL_AUTH_HEADER]: 'v=S1;d=sports;n=api;k=0;t=1;e=2;s=bad',
    });
    expectError(response, 401, 'Invalid credentials');
  });
});

describe('POST /instance/{provider}/{domain}/{service}/{instanceId}', () => {
  it('issues a fresh cert over mTLS with the registered cert', async () => {
    const workload = await registered();
    const { csr } = await serviceCsr(workload.id);
    const response = await refresh(workload, { csr, expiryTime: 90 });
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    const identity = response.json as InstanceIdentity;
    expect(identity).toMatchObject({
      provider: PROVIDER,
      name: 'sports.api',
      instanceId: workload.id,
    });
    const cert = await issuedByCa(identity.x509Certificate, fx.zts.caFile);
    expect(cert.serialNumber).not.toBe(
      (await issuedByCa(workload.cert, fx.zts.caFile)).serialNumber,
    );
    expect(certTimes(cert).lifetimeMins).toBeCloseTo(90, 0);
    expect(fx.zts.requests.at(-1)).toMatchObject({
      endpoint: 'instanceRefresh',
      status: 200,
      principal: 'sports.api',
      authority: 'cert',
      domain: 'sports',
      instanceId: workload.id,
      requestedExpiryMins: 90,
    });
  });

  it('accepts the previous cert once more but revokes the instance for an older one', async () => {
    const first = await registered();
    const second = await refreshed(first);
    const third = await refreshed(second);
    expect((await refreshed(second)).cert).not.toBe(third.cert);

    const { csr } = await serviceCsr(first.id);
    expectError(await refresh(first, { csr }), 403, 'Certificate revoked');
    expectError(await refresh(third, { csr }), 403, 'Certificate revoked');
  });

  it('refuses an instance id that differs between the URL, the CSR and the cert', async () => {
    const workload = await registered();
    const other = nextPod();
    const csrForOther = await serviceCsr(other);
    expectError(
      await refresh(workload, { csr: csrForOther.csr }),
      400,
      'CSR validation failed - instance id mismatch',
    );
    const own = await serviceCsr(workload.id);
    expectError(
      await refresh(workload, { csr: own.csr }, instanceUrl(other)),
      400,
      'CSR validation failed - instance id mismatch',
    );
    expectError(
      await refresh(workload, { csr: csrForOther.csr }, instanceUrl(other)),
      400,
      'CSR validation failed - instance id mismatch',
    );
  });

  it('accepts only the instance service over mTLS', async () => {
    const workload = await registered();
    const { csr } = await serviceCsr(workload.id);
    const ntoken = { [PRINCIPAL_AUTH_HEADER]: nToken(API_KEY.privateKey, 'sports.api') };
    expectError(
      await postJson(anonymous, instanceUrl(workload.id), { csr }, ntoken),
      400,
      'Unsupported authority for TLS Certs: com.yahoo.athenz.auth.impl.PrincipalAuthority',
    );
    // The N-token authority comes first, so it wins even next to the instance's own cert.
    const both = await postJson(
      await fx.pemAgent(workload.cert, workload.key),
      instanceUrl(workload.id),
      { csr },
      ntoken,
    );
    expect(both.status).toBe(400);
    expectError(
      await postJson(await fx.agent('demo.agent'), instanceUrl(workload.id), { csr }),
      400,
      'Principal mismatch: sports.api vs. demo.agent',
    );
    expectError(
      await postJson(anonymous, instanceUrl(workload.id), { csr }),
      401,
      'Invalid credentials',
    );
    expectError(await refresh(workload, {}), 400, 'no csr provided');
  });

  it('is refused by a provider that does not refresh', async () => {
    const workload = await registered(nextPod(), 'sys.auth.oneshot');
    const { csr } = await serviceCsr(workload.id);
    expectError(
      await refresh(workload, { csr }, instanceUrl(workload.id, 'sys.auth.oneshot')),
      403,
      /^unable to verify attestation data: sys\.auth\.oneshot X\.509 Certificates cannot be refreshed /,
    );
  });

  it('checks attestation data when a refresh sends some', async () => {
    const workload = await registered();
    const { csr } = await serviceCsr(workload.id);
    expectError(
      await refresh(workload, { csr, attestationData: 'forged' }),
      403,
      /^unable to verify attestation data: attestation data not accepted/,
    );
    expect((await refresh(workload, { csr, attestationData: ATTESTATION })).status).toBe(200);
  });
});

describe('DELETE /instance/{provider}/{domain}/{service}/{instanceId}', () => {
  it('answers 204 and forgets the instance, so it can no longer refresh', async () => {
    const workload = await registered();
    const agent = await fx.pemAgent(workload.cert, workload.key);
    const deleted = await callZts(agent, instanceUrl(workload.id), { method: 'DELETE' });
    expect(deleted).toMatchObject({ status: 204, json: undefined });
    expect(fx.zts.requests.at(-1)).toMatchObject({
      endpoint: 'instanceDelete',
      status: 204,
      instanceId: workload.id,
    });

    const { csr } = await serviceCsr(workload.id);
    expectError(await refresh(workload, { csr }), 403, 'Unable to find certificate record');
  });

  it('needs credentials of the service or the provider', async () => {
    const workload = await registered();
    expectError(
      await callZts(anonymous, instanceUrl(workload.id), { method: 'DELETE' }),
      401,
      'Invalid credentials',
    );
    expectError(
      await callZts(await fx.agent('demo.agent'), instanceUrl(workload.id), { method: 'DELETE' }),
      403,
      'principal not authorized to delete the requested instance record',
    );
  });
});

describe('GET /cacerts/{name}', () => {
  it('serves the dev CA as the default bundle', async () => {
    const agent = await fx.agent('demo.agent');
    expect(await callZts(agent, `${fx.zts.url}/cacerts/default`)).toMatchObject({
      status: 200,
      json: { name: 'default', certs: await readCa() },
    });
    expectError(
      await callZts(agent, `${fx.zts.url}/cacerts/athenz`),
      404,
      'getCertificateAuthorityBundle: No such bundle: athenz',
    );
    expect((await callZts(anonymous, `${fx.zts.url}/cacerts/default`)).status).toBe(401);
  });
});

async function readCa(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(fx.zts.caFile, 'utf8');
}
