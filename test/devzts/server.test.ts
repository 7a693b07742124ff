import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDevZts } from '../../src/devzts/index.js';
import { createCa, generateKeyPair, issueClientCert } from '../../src/devzts/pki.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import {
  callZts,
  defaultTestPolicy,
  mtlsAgent,
  postTokenForm,
  withDevZts,
} from '../helpers/devzts.js';
import type { DevZtsFixture } from '../helpers/devzts.js';

// Asymmetric matchers are typed `any`; pin them to unknown for the type-aware lint.
const anyString: unknown = expect.any(String);
const anyNumber: unknown = expect.any(Number);
const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);

let fx: DevZtsFixture;
let agent: Agent;
let anonymous: Agent;

beforeAll(async () => {
  fx = await withDevZts();
  agent = await fx.agent();
  anonymous = await fx.anonymousAgent();
});

afterAll(async () => {
  await fx.cleanup();
});

async function serialOf(certFile: string): Promise<string> {
  return new X509Certificate(await readFile(certFile)).serialNumber.toLowerCase();
}

describe('routing', () => {
  it('answers unknown paths with a JSON 404', async () => {
    for (const path of ['/zts/v1/nope', '/zts/v1/status/', '/other', '/zts/v1']) {
      const response = await callZts(agent, `${fx.zts.url.replace('/zts/v1', '')}${path}`);
      expect(response, path).toMatchObject({ status: 404, json: { code: 404 } });
      expect(response.headers['content-type']).toBe('application/json');
    }
    expect(fx.zts.requests.at(-1)).toMatchObject({ endpoint: 'unknown', status: 404 });
  });

  it('answers a wrong method on a known path with a JSON 405 and Allow', async () => {
    const token = await callZts(agent, `${fx.zts.url}/oauth2/token`);
    expect(token).toMatchObject({ status: 405, json: { code: 405 } });
    expect(token.headers.allow).toBe('POST');
    const status = await callZts(agent, `${fx.zts.url}/status`, { method: 'POST', body: '' });
    expect(status).toMatchObject({ status: 405, headers: { allow: 'GET' } });
    expect(fx.zts.requests.at(-1)).toMatchObject({ endpoint: 'status', status: 405 });
  });

  it('answers an unparsable request target with a JSON 404', async () => {
    const socket = connect({
      host: '127.0.0.1',
      port: fx.zts.port,
      ca: await readFile(fx.zts.caFile, 'utf8'),
    });
    await once(socket, 'secureConnect');
    socket.end('GET http://[broken HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let raw = '';
    for await (const chunk of socket) {
      raw += String(chunk);
    }
    expect(raw).toMatch(/^HTTP\/1\.1 404 /);
    expect(raw).toContain('{"code":404,"message":"Not Found"}');
  });

  it('serves HEAD from GET routes without a body', async () => {
    const response = await callZts(agent, `${fx.zts.url}/status`, { method: 'HEAD' });
    expect(response).toMatchObject({ status: 200, json: undefined });
  });

  it('refuses bodies over 64 KiB with 400', async () => {
    const response = await postTokenForm(agent, fx.zts, `scope=${'a'.repeat(70 * 1024)}`);
    expect(response).toMatchObject({
      status: 400,
      json: { code: 400, message: 'Request body exceeds 65536 bytes' },
    });
  });
});

describe('authentication', () => {
  it('gives 401 JSON without a client cert on the token endpoints', async () => {
    for (const [path, method] of [
      ['/oauth2/token', 'POST'],
      ['/domain/sports/token', 'GET'],
      ['/domain/sys.auth/service/zts/publickey/devzts.0', 'GET'],
    ] as const) {
      const response = await callZts(anonymous, `${fx.zts.url}${path}`, {
        method,
        ...(method === 'POST' ? { body: 'x=y' } : {}),
      });
      expect(response, path).toMatchObject({
        status: 401,
        json: { code: 401, message: 'Invalid credentials' },
      });
    }
  });

  it('serves keys, status and OpenID config without a client cert', async () => {
    const keys = await callZts(anonymous, fx.zts.jwksUrl);
    expect(keys.status).toBe(200);
    expect(await callZts(anonymous, `${fx.zts.url}/status`)).toMatchObject({
      status: 200,
      json: { code: 200, message: 'OK' },
    });
    const config = await callZts(anonymous, `${fx.zts.url}/.well-known/openid-configuration`);
    expect(config).toMatchObject({
      status: 200,
      json: { issuer: fx.zts.url, jwks_uri: fx.zts.jwksUrl },
    });
    expect(fx.zts.jwksUrl).toBe(`${fx.zts.url}/oauth2/keys?rfc=true`);
    expect(fx.zts.requests.at(-1)).toMatchObject({ endpoint: 'openidConfig', status: 200 });
    expect(fx.zts.requests.at(-1)).not.toHaveProperty('principal');
  });

  it('ignores a client cert from another CA, though it logs its serial', async () => {
    const caKeys = await generateKeyPair();
    const foreignCa = { cert: await createCa(caKeys), key: caKeys.privateKey };
    const keys = await generateKeyPair();
    const cert = await issueClientCert(foreignCa, keys.publicKey, 'demo.agent');
    const files = {
      certFile: join(fx.dir, 'foreign.cert.pem'),
      keyFile: join(fx.dir, 'foreign.key.pem'),
    };
    await writeFile(files.certFile, cert.toString('pem'));
    await writeFile(files.keyFile, keys.privateKeyPem);

    const response = await callZts(await fx.agent(files), `${fx.zts.url}/domain/sports/token`);
    expect(response.status).toBe(401);
    const entry = fx.zts.requests.at(-1);
    expect(entry).toMatchObject({ clientCertSerial: cert.serialNumber.toLowerCase(), status: 401 });
    expect(entry).not.toHaveProperty('principal');
  });

  it('stops accepting a cert once it expires, even on a kept-alive connection', async () => {
    const shortLived = await fx.zts.issueClientIdentity('demo.agent', { validityMs: 2500 });
    const short = await fx.agent(shortLived);
    expect((await callZts(short, `${fx.zts.url}/domain/sports/token`)).status).toBe(200);

    const notAfter = Date.parse(new X509Certificate(await readFile(shortLived.certFile)).validTo);
    await sleep(Math.max(0, notAfter - Date.now()) + 100);
    expect((await callZts(short, `${fx.zts.url}/domain/sports/token`)).status).toBe(401);
    expect(fx.zts.requests.at(-1)).toMatchObject({ clientCertSerial: shortLived.serial });
    expect(fx.zts.requests.at(-1)).not.toHaveProperty('principal');
  });
});

describe('keys', () => {
  it('publishes the signing key as an RFC JWK with rfc=true', async () => {
    const { json } = await callZts(agent, `${fx.zts.url}/oauth2/keys?rfc=TRUE`);
    const [key] = (json as { keys: Record<string, string>[] }).keys;
    expect(key).toEqual({
      kty: 'EC',
      kid: 'devzts.0',
      alg: 'ES256',
      use: 'sig',
      crv: 'P-256',
      x: matching(/^[A-Za-z0-9_-]{43}$/),
      y: matching(/^[A-Za-z0-9_-]{43}$/),
    });
  });

  it('keeps the legacy curve name and Java integer bytes without rfc', async () => {
    const rfc = (await callZts(agent, fx.zts.jwksUrl)).json as { keys: Record<string, string>[] };
    const legacy = (await callZts(agent, `${fx.zts.url}/oauth2/keys`)).json as typeof rfc;
    const [rfcKey, legacyKey] = [rfc.keys[0]!, legacy.keys[0]!];
    expect(legacyKey.crv).toBe('prime256v1');
    for (const axis of ['x', 'y'] as const) {
      const strict = Buffer.from(rfcKey[axis]!, 'base64url');
      const java = Buffer.from(legacyKey[axis]!, 'base64url');
      const expected = strict[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), strict]) : strict;
      expect(java.equals(expected)).toBe(true);
    }
  });

  it('serves the role token key as YBase64 PEM, lower-casing the key id', async () => {
    const response = await callZts(
      agent,
      `${fx.zts.url}/domain/SYS.AUTH/service/ZTS/publickey/DEVZTS.0`,
    );
    expect(response).toMatchObject({ status: 200, json: { id: 'devzts.0' } });
    expect(fx.zts.requests.at(-1)).toMatchObject({ endpoint: 'publicKey', domain: 'sys.auth' });
  });

  it('answers unknown keys with 404 and bad names with 400', async () => {
    const base = `${fx.zts.url}/domain`;
    for (const path of [
      'sys.auth/service/zts/publickey/0',
      'sports/service/zts/publickey/devzts.0',
    ]) {
      expect(await callZts(agent, `${base}/${path}`)).toMatchObject({
        status: 404,
        json: { code: 404, message: 'Public Key not found' },
      });
    }
    const dotted = await callZts(agent, `${base}/sys.auth/service/z.ts/publickey/devzts.0`);
    expect(dotted.status).toBe(400);
  });
});

describe('request log', () => {
  it('records endpoint, principal, status and the client cert serial', async () => {
    const serial = await serialOf(fx.zts.clientIdentity('demo.agent').certFile);
    await postTokenForm(agent, fx.zts, 'grant_type=client_credentials&scope=sports%3Arole.reader');
    expect(fx.zts.requests.at(-1)).toEqual({
      at: anyNumber,
      method: 'POST',
      path: '/zts/v1/oauth2/token',
      endpoint: 'accessToken',
      status: 200,
      principal: 'demo.agent',
      authority: 'cert',
      clientCertSerial: serial,
      domain: 'sports',
      roles: ['reader'],
      requestedRoles: ['reader'],
      tokenId: anyString,
    });
  });

  it('shows the serial of a newly issued identity once it is used', async () => {
    const base = await serialOf(fx.zts.clientIdentity('demo.agent').certFile);
    const issued = await fx.zts.issueClientIdentity('Demo.Agent');
    expect(issued.serial).toMatch(/^[0-9a-f]{32}$/);
    expect(issued.serial).not.toBe(base);
    expect(await serialOf(issued.certFile)).toBe(issued.serial);
    expect((await stat(issued.keyFile)).mode & 0o777).toBe(0o600);

    await callZts(await fx.agent(issued), `${fx.zts.url}/domain/sports/token`);
    expect(fx.zts.requests.at(-1)).toMatchObject({
      principal: 'demo.agent',
      clientCertSerial: issued.serial,
      status: 200,
    });
  });

  it('refuses to issue an identity for a name that is not a principal', async () => {
    await expect(fx.zts.issueClientIdentity('agent')).rejects.toThrow(/not a principal name/);
  });

  it('counts TLS handshakes, one per new connection', async () => {
    // A single-connection Client, so the count does not depend on pool decisions.
    const files = fx.zts.clientIdentity('demo.agent');
    const client = new Client(new URL(fx.zts.url).origin, {
      connect: {
        ca: await readFile(fx.zts.caFile, 'utf8'),
        cert: await readFile(files.certFile, 'utf8'),
        key: await readFile(files.keyFile, 'utf8'),
      },
    });
    try {
      const before = fx.zts.handshakes;
      for (let index = 0; index < 3; index += 1) {
        await callZts(client, `${fx.zts.url}/status`);
      }
      expect(fx.zts.handshakes - before).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('logs one debug line per request, without tokens', async () => {
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (line: string) => lines.push(line) });
    const other = await withDevZts(defaultTestPolicy(), { logger });
    try {
      const response = await postTokenForm(
        await other.agent(),
        other.zts,
        'grant_type=client_credentials&scope=sports%3Adomain',
      );
      const token = (response.json as { access_token: string }).access_token;
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        level: 20,
        msg: 'dev zts request',
        method: 'POST',
        path: '/zts/v1/oauth2/token',
        endpoint: 'accessToken',
        status: 200,
        principal: 'demo.agent',
      });
      expect(lines.join('')).not.toContain(token.split('.')[1]);
    } finally {
      await other.cleanup();
    }
  });
});

describe('policy swap', () => {
  it('applies a new policy to the next request', async () => {
    const url = `${fx.zts.url}/domain/sports/token?role=reader`;
    expect((await callZts(agent, url)).status).toBe(200);
    fx.zts.setPolicy({ services: [], domains: { sports: { roles: {} } } });
    try {
      expect((await callZts(agent, url)).status).toBe(403);
    } finally {
      fx.zts.setPolicy(defaultTestPolicy());
    }
    expect((await callZts(agent, url)).status).toBe(200);
  });

  it('rejects an invalid policy and keeps the old one', () => {
    expect(() => {
      fx.zts.setPolicy({ services: ['nodot'], domains: {} });
    }).toThrow(ConfigError);
  });
});

describe('close', () => {
  it('cuts kept-alive connections, so the old agent gets nothing', async () => {
    const own = await withDevZts();
    try {
      const client = await own.agent();
      expect((await callZts(client, `${own.zts.url}/status`)).status).toBe(200);
      expect(own.zts.openConnections).toBeGreaterThanOrEqual(1);

      const started = Date.now();
      await own.zts.close();
      expect(Date.now() - started).toBeLessThan(1000);
      expect(own.zts.openConnections).toBe(0);
      await expect(callZts(client, `${own.zts.url}/status`)).rejects.toThrow();
    } finally {
      await own.cleanup();
    }
  });

  it('can start again on the same port with the same state', async () => {
    const own = await withDevZts();
    try {
      const client = await own.agent();
      const { port, url } = own.zts;
      await own.zts.close();
      const again = await startDevZts({
        stateDir: own.stateDir,
        policy: defaultTestPolicy(),
        port,
      });
      try {
        expect(again.url).toBe(url);
        expect((await callZts(client, `${url}/domain/sports/token`)).status).toBe(200);
      } finally {
        await again.close();
      }
    } finally {
      await own.cleanup();
    }
  });

  it('is safe to call twice', async () => {
    const own = await withDevZts();
    await own.zts.close();
    await own.zts.close();
    await own.cleanup();
  });
});

describe('mtlsAgent helper', () => {
  it('connects with the dev CA and identity files', async () => {
    const client = await mtlsAgent(fx.zts.caFile, fx.zts.clientIdentity('other.svc'));
    try {
      await callZts(client, `${fx.zts.url}/status`);
      expect(fx.zts.requests.at(-1)).toMatchObject({ principal: 'other.svc' });
    } finally {
      await client.close();
    }
  });
});
