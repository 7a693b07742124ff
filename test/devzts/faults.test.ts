// Fault injection in the dev ZTS: one test per fault kind, how a request's fault is chosen (match,
// times, specificity), the request log fields tests count with, TLS handshakes per credential,
// stalled handshakes, and a stop/restart on the same port. Real TLS on loopback, undici client.

import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { Agent, Client, request } from 'undici';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { parseRoleToken } from '../../src/athenz/role-token.js';
import { READ_ONLY_MESSAGE } from '../../src/devzts/index.js';
import type { DevZtsFault, DevZtsPolicy, DevZtsRequest } from '../../src/devzts/index.js';
import {
  TEST_PRINCIPAL,
  callZts,
  defaultTestPolicy,
  postJson,
  postTokenForm,
  restartDevZts,
  stopDevZts,
  withDevZts,
} from '../helpers/devzts.js';
import type { DevZtsFixture, JsonResponse } from '../helpers/devzts.js';
import { buildCsr, issuedByCa } from './credentials.js';

interface AccessTokenResponse {
  access_token: string;
  expires_in: number;
}

interface RoleTokenResponse {
  token: string;
  expiryTime: number;
}

let fx: DevZtsFixture;
let agent: Agent;
let other: Agent;
let anonymous: Agent;

beforeAll(async () => {
  fx = await withDevZts();
  agent = await fx.agent();
  other = await fx.agent('other.svc');
  anonymous = await fx.anonymousAgent();
});

afterEach(() => {
  fx.zts.faults.clear();
});

afterAll(async () => {
  await fx.cleanup();
});

function tokenForm(scope: string): string {
  return `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`;
}

function accessToken(scope = 'sports:role.reader', dispatcher = agent): Promise<JsonResponse> {
  return postTokenForm(dispatcher, fx.zts, tokenForm(scope));
}

function roleToken(query = '?role=reader', domain = 'sports', dispatcher: Dispatcher = agent) {
  return callZts(dispatcher, `${fx.zts.url}/domain/${domain}/token${query}`);
}

function roleCert(csr: string, expiryTime = 0): Promise<JsonResponse> {
  return postJson(agent, `${fx.zts.url}/rolecert`, { csr, expiryTime });
}

async function readerCsr(): Promise<string> {
  const { csr } = await buildCsr({
    cn: 'sports:role.reader',
    uris: [`athenz://principal/${TEST_PRINCIPAL}`],
  });
  return csr;
}

function lastEntry(): DevZtsRequest {
  const entry = fx.zts.requests.at(-1);
  if (entry === undefined) {
    throw new Error('no request logged');
  }
  return entry;
}

function statusOf(response: Promise<JsonResponse>): Promise<number> {
  return response.then(({ status }) => status);
}

function nowSeconds(): number {
  return Date.now() / 1000;
}

describe('status fault', () => {
  it('answers with the status and a ZTS error body, even before authentication', async () => {
    fx.zts.faults.set('accessToken', { kind: 'status', status: 503 });
    expect(await accessToken()).toMatchObject({
      status: 503,
      json: { code: 503, message: 'Service Unavailable' },
    });
    const entry = lastEntry();
    expect(entry).toMatchObject({
      endpoint: 'accessToken',
      status: 503,
      fault: 'status',
      principal: TEST_PRINCIPAL,
      domain: 'sports',
      requestedRoles: ['reader'],
    });
    expect(entry.roles).toBeUndefined();
    expect(entry.tokenId).toBeUndefined();

    // An outage comes before the 401 an anonymous caller would get.
    expect(await statusOf(postTokenForm(anonymous, fx.zts, tokenForm('sports:role.reader')))).toBe(
      503,
    );
    // Other endpoints are not touched.
    expect(await statusOf(roleToken())).toBe(200);
    expect(lastEntry().fault).toBeUndefined();
  });

  it('takes a message (read-only mode) and challenges a 401 like ZTS does', async () => {
    fx.zts.faults.set('accessToken', { kind: 'status', status: 400, message: READ_ONLY_MESSAGE });
    expect(await accessToken()).toMatchObject({
      status: 400,
      json: { code: 400, message: READ_ONLY_MESSAGE },
    });
    fx.zts.faults.set('accessToken', { kind: 'status', status: 401 });
    const unauthorized = await accessToken();
    expect(unauthorized).toMatchObject({ status: 401, json: { message: 'Unauthorized' } });
    expect(unauthorized.headers['www-authenticate']).toBe('AthenzPrincipalToken realm="athenz"');

    fx.zts.faults.set('accessToken', undefined);
    expect(await statusOf(accessToken())).toBe(200);
  });
});

describe('delay fault', () => {
  it('waits, then handles the request normally', async () => {
    fx.zts.faults.set('roleToken', { kind: 'delay', ms: 300 });
    const started = performance.now();
    const response = await roleToken();
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    expect(response.status).toBe(200);
    expect(lastEntry()).toMatchObject({ status: 200, fault: 'delay', roles: ['reader'] });
  });

  it('waits, then applies `then`', async () => {
    fx.zts.faults.set('roleToken', {
      kind: 'delay',
      ms: 200,
      then: { kind: 'status', status: 504 },
    });
    const started = performance.now();
    expect(await statusOf(roleToken())).toBe(504);
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    expect(lastEntry()).toMatchObject({ status: 504, fault: 'delay' });
  });
});

describe('close fault', () => {
  it('cuts the connection without an answer and issues nothing', async () => {
    fx.zts.faults.set('accessToken', { kind: 'close' });
    await expect(accessToken()).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    const entry = lastEntry();
    expect(entry).toMatchObject({ status: 0, fault: 'close', requestedRoles: ['reader'] });
    expect(entry.tokenId).toBeUndefined();
  });
});

describe('body fault', () => {
  it('answers 200 with exactly the given text, after really issuing the token', async () => {
    fx.zts.faults.set('accessToken', { kind: 'body', body: '{"access_token":' });
    const response = await request(`${fx.zts.url}/oauth2/token`, {
      dispatcher: agent,
      method: 'POST',
      body: tokenForm('sports:role.reader'),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(await response.body.text()).toBe('{"access_token":');
    expect(lastEntry()).toMatchObject({
      status: 200,
      fault: 'body',
      roles: ['reader'],
      tokenId: expect.any(String) as unknown,
    });
  });

  it('hands the normal answer to a function and sends what it returns', async () => {
    let normal: unknown;
    fx.zts.faults.set('accessToken', {
      kind: 'body',
      body: (answer) => {
        normal = answer;
        return JSON.stringify({ ...(answer as AccessTokenResponse), expires_in: -1 });
      },
    });
    const response = await accessToken();
    expect(response.status).toBe(200);
    const body = response.json as AccessTokenResponse;
    expect(body.expires_in).toBe(-1);
    expect(normal).toMatchObject({ token_type: 'Bearer', expires_in: 7200 });
    // The token sent is the one issued and logged.
    expect(decodeJwt(body.access_token).jti).toBe(lastEntry().tokenId);
  });
});

describe('truncate fault', () => {
  it('promises the whole body, sends only part of it, then closes', async () => {
    fx.zts.faults.set('roleToken', { kind: 'truncate', bytes: 10 });
    const response = await request(`${fx.zts.url}/domain/sports/token?role=reader`, {
      dispatcher: agent,
    });
    expect(response.statusCode).toBe(200);
    expect(Number(response.headers['content-length'])).toBeGreaterThan(10);
    await expect(response.body.text()).rejects.toThrow();
    expect(lastEntry()).toMatchObject({ status: 0, fault: 'truncate', roles: ['reader'] });
  });

  it('puts exactly `bytes` bytes of the body on the wire', async () => {
    fx.zts.faults.set('roleToken', { kind: 'truncate', bytes: 10 });
    const identity = fx.zts.clientIdentity(TEST_PRINCIPAL);
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: fx.zts.port,
      ca: await readFile(fx.zts.caFile, 'utf8'),
      cert: await readFile(identity.certFile, 'utf8'),
      key: await readFile(identity.keyFile, 'utf8'),
    });
    await once(socket, 'secureConnect');
    socket.write('GET /zts/v1/domain/sports/token?role=reader HTTP/1.1\r\nHost: zts\r\n\r\n');
    const chunks: Buffer[] = [];
    for await (const chunk of socket) {
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const [head = '', body] = raw.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(Number(/content-length: (\d+)/i.exec(head)?.[1])).toBeGreaterThan(10);
    expect(body).toBe('{"token":"');
  });
});

describe('issuance faults', () => {
  it('lifetime: tokens and certs live exactly that long, whatever was asked', async () => {
    fx.zts.faults.set('*', { kind: 'lifetime', seconds: 5 });
    const access = (await accessToken()).json as AccessTokenResponse;
    expect(access.expires_in).toBe(5);
    const claims = decodeJwt(access.access_token);
    expect(claims.exp! - claims.iat!).toBe(5);
    expect(lastEntry()).toMatchObject({ status: 200, fault: 'lifetime' });

    const role = (await roleToken('?role=reader&minExpiryTime=9000')).json as RoleTokenResponse;
    const parsed = parseRoleToken(role.token)!;
    expect(parsed.expiresAt - parsed.issuedAt).toBe(5);
    expect(role.expiryTime).toBe(parsed.expiresAt);

    fx.zts.faults.set('*', { kind: 'lifetime', seconds: 120 });
    const response = await roleCert(await readerCsr(), 600);
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    const { x509Certificate } = response.json as { x509Certificate: string };
    const cert = await issuedByCa(x509Certificate, fx.zts.caFile);
    expect(Date.parse(cert.validTo) / 1000 - nowSeconds()).toBeCloseTo(120, -1);
  });

  it('expSkew: the expiry inside the token disagrees with the one in the response', async () => {
    fx.zts.faults.set('*', { kind: 'expSkew', seconds: 600 });
    const access = (await accessToken()).json as AccessTokenResponse;
    expect(access.expires_in).toBe(7200);
    const claims = decodeJwt(access.access_token);
    expect(claims.exp! - claims.iat!).toBe(7800);

    const role = (await roleToken()).json as RoleTokenResponse;
    const parsed = parseRoleToken(role.token)!;
    expect(parsed.expiresAt - parsed.issuedAt).toBe(7800);
    expect(role.expiryTime - parsed.issuedAt).toBe(7200);
    expect(lastEntry()).toMatchObject({ status: 200, fault: 'expSkew' });
  });

  it('clockSkew: everything issued is shifted together, lifetimes unchanged', async () => {
    const skew = 3600;
    fx.zts.faults.set('*', { kind: 'clockSkew', seconds: skew });
    const access = (await accessToken()).json as AccessTokenResponse;
    const claims = decodeJwt(access.access_token);
    expect(claims.iat! - nowSeconds()).toBeCloseTo(skew, -1);
    expect(claims.exp! - claims.iat!).toBe(7200);
    expect(access.expires_in).toBe(7200);

    const role = (await roleToken()).json as RoleTokenResponse;
    const parsed = parseRoleToken(role.token)!;
    expect(parsed.issuedAt - nowSeconds()).toBeCloseTo(skew, -1);
    expect(parsed.expiresAt - parsed.issuedAt).toBe(7200);
    expect(role.expiryTime).toBe(parsed.expiresAt);

    const response = await roleCert(await readerCsr(), 60);
    const { x509Certificate } = response.json as { x509Certificate: string };
    const cert = new X509Certificate(x509Certificate);
    // notBefore is backdated an hour from the (skewed) signing time; the lifetime is as asked.
    expect(Date.parse(cert.validFrom) / 1000 - nowSeconds()).toBeCloseTo(skew - 3600, -1);
    expect(Date.parse(cert.validTo) / 1000 - nowSeconds()).toBeCloseTo(skew + 3600, -1);
  });
});

describe('choosing the fault', () => {
  const status = (code: number): DevZtsFault => ({ kind: 'status', status: code });

  it('match narrows a fault to requested roles or a domain', async () => {
    fx.zts.faults.set('accessToken', status(503), { match: { roles: ['Admin'] } });
    expect(await statusOf(accessToken('sports:role.admin', other))).toBe(503);
    expect(await statusOf(accessToken('sports:role.writer sports:role.admin', other))).toBe(503);
    expect(await statusOf(accessToken('sports:role.writer', other))).toBe(200);
    // A request naming no role asks for all of them, not for `admin` in particular.
    expect(await statusOf(accessToken('sports:domain', other))).toBe(200);

    fx.zts.faults.clear();
    fx.zts.faults.set('*', status(502), { match: { domain: 'Weather' } });
    expect(await statusOf(roleToken('?role=viewer', 'weather'))).toBe(502);
    expect(await statusOf(accessToken('weather:role.viewer'))).toBe(502);
    expect(await statusOf(roleToken('?role=reader', 'sports'))).toBe(200);
    expect(await statusOf(callZts(agent, `${fx.zts.url}/status`))).toBe(200);
  });

  it('match works on role certs too, from the CSR', async () => {
    fx.zts.faults.set('roleCert', status(503), { match: { roles: ['reader'] } });
    expect(await statusOf(roleCert(await readerCsr()))).toBe(503);
    expect(lastEntry()).toMatchObject({ domain: 'sports', requestedRoles: ['reader'] });
  });

  it('times clears the entry after that many matching requests', async () => {
    fx.zts.faults.set('roleToken', status(503), { times: 2, match: { roles: ['reader'] } });
    expect(await statusOf(roleToken('?role=writer'))).toBe(200);
    expect(await statusOf(roleToken())).toBe(503);
    expect(await statusOf(roleToken())).toBe(503);
    expect(await statusOf(roleToken())).toBe(200);
  });

  it('the most specific entry wins: endpoint+match, endpoint, *+match, *', async () => {
    const { faults } = fx.zts;
    faults.set('*', status(500));
    faults.set('*', status(502), { match: { domain: 'weather' } });
    faults.set('accessToken', status(503));
    faults.set('accessToken', status(504), { match: { roles: ['writer'] } });

    expect(await statusOf(accessToken('sports:role.writer'))).toBe(504);
    expect(await statusOf(accessToken('sports:role.reader'))).toBe(503);
    expect(await statusOf(accessToken('weather:role.viewer'))).toBe(503);
    expect(await statusOf(roleToken('?role=viewer', 'weather'))).toBe(502);
    expect(await statusOf(roleToken())).toBe(500);
    expect(await statusOf(callZts(agent, `${fx.zts.url}/status`))).toBe(500);
    expect(await statusOf(callZts(agent, `${fx.zts.url}/nowhere`))).toBe(500);
    expect(lastEntry()).toMatchObject({ endpoint: 'unknown', status: 500, fault: 'status' });

    // Setting or clearing replaces only the entry with the same endpoint and match.
    faults.set('accessToken', undefined, { match: { roles: ['writer'] } });
    expect(await statusOf(accessToken('sports:role.writer'))).toBe(503);
    faults.set('accessToken', status(505));
    expect(await statusOf(accessToken('sports:role.reader'))).toBe(505);
    faults.set('accessToken', undefined);
    expect(await statusOf(accessToken('sports:role.reader'))).toBe(500);
  });

  it('refuses faults it could not act on', () => {
    const { faults } = fx.zts;
    expect(() => {
      faults.set('accessToken', status(99));
    }).toThrow(RangeError);
    expect(() => {
      faults.set('accessToken', { kind: 'delay', ms: -1 });
    }).toThrow(RangeError);
    expect(() => {
      faults.set('accessToken', { kind: 'lifetime', seconds: 1.5 });
    }).toThrow(RangeError);
    expect(() => {
      faults.set('accessToken', status(503), { times: 0 });
    }).toThrow(RangeError);
  });
});

describe('request log', () => {
  it('keeps the requested roles of every token request, granted or not', async () => {
    await accessToken('sports:role.admin');
    expect(lastEntry()).toMatchObject({ status: 403, requestedRoles: ['admin'] });
    expect(lastEntry().roles).toBeUndefined();

    await postTokenForm(anonymous, fx.zts, tokenForm('sports:role.reader sports:role.writer'));
    expect(lastEntry()).toMatchObject({ status: 401, requestedRoles: ['reader', 'writer'] });

    await roleToken('?role=Reader,writer');
    expect(lastEntry()).toMatchObject({
      status: 200,
      roles: ['reader', 'writer'],
      requestedRoles: ['reader', 'writer'],
    });
    await roleToken('');
    expect(lastEntry().requestedRoles).toBeUndefined();
  });

  it('counts TLS handshakes per presented client cert', async () => {
    const identity = fx.zts.clientIdentity(TEST_PRINCIPAL);
    const [ca, cert, key] = await Promise.all([
      readFile(fx.zts.caFile, 'utf8'),
      readFile(identity.certFile, 'utf8'),
      readFile(identity.keyFile, 'utf8'),
    ]);
    const serial = new X509Certificate(cert).serialNumber.toLowerCase();
    const before = new Map(fx.zts.handshakesBySerial);
    // A single-connection Client, so the count does not depend on pool decisions: two requests
    // over one keep-alive connection are one handshake.
    const client = new Client(new URL(fx.zts.url).origin, { connect: { ca, cert, key } });
    try {
      expect(await statusOf(roleToken('?role=reader', 'sports', client))).toBe(200);
      expect(await statusOf(roleToken('?role=reader', 'sports', client))).toBe(200);
    } finally {
      await client.close();
    }
    expect(await statusOf(callZts(await fx.anonymousAgent(), `${fx.zts.url}/status`))).toBe(200);

    expect(fx.zts.handshakesBySerial.get(serial)).toBe((before.get(serial) ?? 0) + 1);
    expect(fx.zts.handshakesBySerial.get('')).toBe((before.get('') ?? 0) + 1);
    const total = [...fx.zts.handshakesBySerial.values()].reduce((sum, count) => sum + count, 0);
    expect(total).toBe(fx.zts.handshakes);
  });
});

describe('stalled handshakes', () => {
  it('accepts connections but never completes their handshake while on', async () => {
    const warm = await fx.agent();
    expect(await statusOf(roleToken('?role=reader', 'sports', warm))).toBe(200);
    const identity = fx.zts.clientIdentity(TEST_PRINCIPAL);
    const [ca, cert, key] = await Promise.all([
      readFile(fx.zts.caFile, 'utf8'),
      readFile(identity.certFile, 'utf8'),
      readFile(identity.keyFile, 'utf8'),
    ]);
    const impatient = new Agent({ connect: { ca, cert, key, timeout: 300 } });
    try {
      fx.zts.faults.stallHandshakes(true);
      const handshakes = fx.zts.handshakes;
      const connections = fx.zts.openConnections;
      await expect(
        request(`${fx.zts.url}/status`, { dispatcher: impatient }),
      ).rejects.toMatchObject({ code: 'UND_ERR_CONNECT_TIMEOUT' });
      expect(fx.zts.handshakes).toBe(handshakes);
      // A connection made before keeps working.
      expect(await statusOf(roleToken('?role=reader', 'sports', warm))).toBe(200);

      fx.zts.faults.stallHandshakes(false);
      expect(await statusOf(callZts(impatient, `${fx.zts.url}/status`))).toBe(200);
      expect(fx.zts.handshakes).toBe(handshakes + 1);
      expect(fx.zts.openConnections).toBeGreaterThanOrEqual(connections);

      // clear() stops stalling too.
      fx.zts.faults.stallHandshakes(true);
      fx.zts.faults.clear();
      const after = new Agent({ connect: { ca, cert, key, timeout: 300 } });
      expect(await statusOf(callZts(after, `${fx.zts.url}/status`))).toBe(200);
      await after.destroy();
    } finally {
      await impatient.destroy();
    }
  });
});

describe('stop and restart on the same port', () => {
  const PROVIDER = 'sys.auth.k8s';
  const ATTESTATION = 'attest-token-1';
  const policy = (): DevZtsPolicy => ({
    ...defaultTestPolicy(),
    providers: {
      [PROVIDER]: {
        attestation: [ATTESTATION],
        refresh: true,
        dnsSuffix: 'athenz.cloud',
        services: ['sports.api'],
      },
    },
  });
  let rx: DevZtsFixture;

  beforeAll(async () => {
    rx = await withDevZts(policy());
  });

  afterAll(async () => {
    await rx.cleanup();
  });

  function instanceCsr(id: string) {
    return buildCsr({
      cn: 'sports.api',
      dns: ['api.sports.athenz.cloud', `${id}.instanceid.athenz.athenz.cloud`],
      uris: ['spiffe://sports/sa/api'],
    });
  }

  it('refuses connections while stopped, then comes back with the same state', async () => {
    const handle = rx.zts;
    const port = rx.zts.port;
    const client = await rx.agent();
    const caPem = await readFile(rx.zts.caFile, 'utf8');
    const keysBefore = (await callZts(client, rx.zts.jwksUrl)).json;
    const { csr, keyPem } = await instanceCsr('pod-1');
    const registered = await postJson(client, `${rx.zts.url}/instance`, {
      provider: PROVIDER,
      domain: 'sports',
      service: 'api',
      attestationData: ATTESTATION,
      csr,
    });
    expect(registered.status, JSON.stringify(registered.json)).toBe(201);

    await stopDevZts(rx);
    await expect(callZts(client, `${rx.zts.url}/status`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });

    await restartDevZts(rx);
    expect(rx.zts.port).toBe(port);
    expect(rx.zts).toBe(handle);
    expect(rx.zts.requests).toEqual([]);
    expect(await readFile(rx.zts.caFile, 'utf8')).toBe(caPem);
    // The same client (same identity, same trust) gets in; the signing key is the same.
    expect((await callZts(client, rx.zts.jwksUrl)).json).toEqual(keysBefore);
    expect(await statusOf(postTokenForm(client, rx.zts, tokenForm('sports:role.reader')))).toBe(
      200,
    );
    // The instance registered before the restart can still refresh.
    const identity = registered.json as { x509Certificate: string };
    const next = await instanceCsr('pod-1');
    const refreshed = await postJson(
      await rx.pemAgent(identity.x509Certificate, keyPem),
      `${rx.zts.url}/instance/${PROVIDER}/sports/api/pod-1`,
      { csr: next.csr },
    );
    expect(refreshed.status, JSON.stringify(refreshed.json)).toBe(200);
    expect(handle.requests.map(({ endpoint }) => endpoint)).toEqual([
      'jwks',
      'accessToken',
      'instanceRefresh',
    ]);
  });

  it('restarting a running server bounces it and keeps the latest policy', async () => {
    const client = await rx.agent('other.svc');
    expect(await statusOf(postTokenForm(client, rx.zts, tokenForm('weather:role.viewer')))).toBe(
      403,
    );
    const next = policy();
    next.domains.weather = { roles: { viewer: { members: ['other.svc'] } } };
    rx.zts.setPolicy(next);
    await restartDevZts(rx);
    expect(await statusOf(postTokenForm(client, rx.zts, tokenForm('weather:role.viewer')))).toBe(
      200,
    );
  });

  it('a stop cuts delayed requests and stalled handshakes instead of waiting', async () => {
    const identity = rx.zts.clientIdentity(TEST_PRINCIPAL);
    const [ca, cert, key] = await Promise.all([
      readFile(rx.zts.caFile, 'utf8'),
      readFile(identity.certFile, 'utf8'),
      readFile(identity.keyFile, 'utf8'),
    ]);
    // One connection, made before the stall, so the delayed request is sure to reach HTTP.
    const client = new Client(new URL(rx.zts.url).origin, { connect: { ca, cert, key } });
    try {
      expect(await statusOf(callZts(client, `${rx.zts.url}/status`))).toBe(200);
      rx.zts.faults.set('*', { kind: 'delay', ms: 60_000 });
      const outcome = callZts(client, `${rx.zts.url}/status`).then(
        () => 'answered',
        () => 'failed',
      );
      // Let the delayed request reach its wait.
      await sleep(100);

      rx.zts.faults.stallHandshakes(true);
      const connections = rx.zts.openConnections;
      const stalled = netConnect({ host: '127.0.0.1', port: rx.zts.port });
      stalled.on('error', () => undefined);
      await once(stalled, 'connect');
      const stalledClosed = once(stalled, 'close');
      await vi.waitFor(() => {
        expect(rx.zts.openConnections).toBe(connections + 1);
      });

      const started = performance.now();
      await stopDevZts(rx);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(await outcome).toBe('failed');
      await stalledClosed;
      await vi.waitFor(() => {
        expect(rx.zts.requests.at(-1)).toMatchObject({
          endpoint: 'status',
          status: 0,
          fault: 'delay',
        });
      });
    } finally {
      await client.destroy();
    }
  });
});
