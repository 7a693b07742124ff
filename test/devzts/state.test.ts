import { X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startDevZts } from '../../src/devzts/index.js';
import type { DevZts, DevZtsPolicy } from '../../src/devzts/index.js';
import * as x509 from '../../src/x509.js';
import { callZts, defaultTestPolicy, mtlsAgent } from '../helpers/devzts.js';

let dir: string;
const running: DevZts[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devzts-state-'));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((zts) => zts.close()));
  await rm(dir, { recursive: true, force: true });
});

async function start(policy: DevZtsPolicy = defaultTestPolicy()): Promise<DevZts> {
  const zts = await startDevZts({ stateDir: join(dir, 'state'), policy });
  running.push(zts);
  return zts;
}

async function jwkX(zts: DevZts): Promise<unknown> {
  const agent = await mtlsAgent(zts.caFile);
  try {
    const { json } = await callZts(agent, zts.jwksUrl);
    return (json as { keys: { kid: string; x: string }[] }).keys[0];
  } finally {
    await agent.close();
  }
}

describe('state folder', () => {
  it('is created on first start with the CA, server, client and signing files', async () => {
    const zts = await start();
    const state = join(dir, 'state');

    expect((await readdir(state)).sort()).toEqual([
      'ca.cert.pem',
      'ca.key.pem',
      'clients',
      'server.cert.pem',
      'server.key.pem',
      'signing.json',
      'signing.key.pem',
    ]);
    expect((await readdir(join(state, 'clients'))).sort()).toEqual([
      'demo.agent.cert.pem',
      'demo.agent.key.pem',
      'other.svc.cert.pem',
      'other.svc.key.pem',
    ]);
    expect(zts.caFile).toBe(join(state, 'ca.cert.pem'));
    expect(JSON.parse(await readFile(join(state, 'signing.json'), 'utf8'))).toEqual({
      kid: 'devzts.0',
    });
  });

  it('writes private keys with mode 0600', async () => {
    const zts = await start();
    const state = join(dir, 'state');
    const keys = [
      join(state, 'ca.key.pem'),
      join(state, 'server.key.pem'),
      join(state, 'signing.key.pem'),
      zts.clientIdentity('demo.agent').keyFile,
      zts.clientIdentity('other.svc').keyFile,
    ];
    for (const key of keys) {
      expect((await stat(key)).mode & 0o777, key).toBe(0o600);
    }
  });

  it('makes an EC P-256 CA and certs shaped like ZTS ones', async () => {
    const zts = await start();
    const ca = new x509.X509Certificate(await readFile(zts.caFile, 'utf8'));
    const server = new x509.X509Certificate(
      await readFile(join(dir, 'state', 'server.cert.pem'), 'utf8'),
    );
    const client = new x509.X509Certificate(
      await readFile(zts.clientIdentity('demo.agent').certFile, 'utf8'),
    );

    expect(ca.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
    expect(ca.getExtension(x509.KeyUsagesExtension)?.usages).toBe(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    );
    expect(ca.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });

    expect(server.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
    ]);
    expect(server.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
      { type: 'dns', value: 'localhost' },
    ]);
    expect(await server.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);

    expect(client.subject).toBe('CN=demo.agent');
    expect(client.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    expect(client.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'url', value: 'spiffe://demo/sa/agent' },
    ]);
    const days = (client.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThanOrEqual(30);
    // Node's own X509 (OpenSSL) agrees that the CA issued and signed the client cert.
    const nodeCa = new X509Certificate(await readFile(zts.caFile));
    const nodeClient = new X509Certificate(
      await readFile(zts.clientIdentity('demo.agent').certFile),
    );
    expect(nodeClient.checkIssued(nodeCa)).toBe(true);
    expect(nodeClient.verify(nodeCa.publicKey)).toBe(true);
  });

  it('is reused on the next start: same CA, same certs, same signing key', async () => {
    const first = await start();
    const before = {
      ca: await readFile(first.caFile, 'utf8'),
      client: await readFile(first.clientIdentity('demo.agent').certFile, 'utf8'),
      jwk: await jwkX(first),
    };
    await first.close();

    const second = await start();
    expect(await readFile(second.caFile, 'utf8')).toBe(before.ca);
    expect(await readFile(second.clientIdentity('demo.agent').certFile, 'utf8')).toBe(
      before.client,
    );
    expect(await jwkX(second)).toEqual(before.jwk);
  });

  it('adds identities for services added to the policy later', async () => {
    const first = await start({ services: ['demo.agent'], domains: {} });
    const demo = await readFile(first.clientIdentity('demo.agent').certFile, 'utf8');
    expect(() => first.clientIdentity('new.svc')).toThrow(/not one of the policy services/);
    await first.close();

    const second = await start({ services: ['demo.agent', 'New.Svc'], domains: {} });
    const created = new x509.X509Certificate(
      await readFile(second.clientIdentity('new.svc').certFile, 'utf8'),
    );
    expect(created.subject).toBe('CN=new.svc');
    expect(await readFile(second.clientIdentity('demo.agent').certFile, 'utf8')).toBe(demo);
  });

  it('reissues a client cert that has expired', async () => {
    const first = await start();
    const short = await first.issueClientIdentity('demo.agent', { validityMs: 1 });
    const files = first.clientIdentity('demo.agent');
    await copyFile(short.certFile, files.certFile);
    await copyFile(short.keyFile, files.keyFile);
    await first.close();

    const second = await start();
    const cert = new x509.X509Certificate(await readFile(files.certFile, 'utf8'));
    expect(cert.serialNumber.toLowerCase()).not.toBe(short.serial);
    expect(cert.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(second.requests).toEqual([]);
  });

  it('refuses to start when a cert has lost its key', async () => {
    const first = await start();
    await first.close();
    await rm(join(dir, 'state', 'ca.key.pem'));
    await expect(start()).rejects.toThrow(
      /ca\.key\.pem is missing although .*ca\.cert\.pem exists/,
    );
  });

  it('refuses to start with a signing key id but no signing key, or a broken key id', async () => {
    const first = await start();
    await first.close();
    const meta = join(dir, 'state', 'signing.json');
    await writeFile(meta, '{"kid": "Has Spaces"}');
    await expect(start()).rejects.toThrow(/signing\.json: expected \{"kid"/);
    await rm(join(dir, 'state', 'signing.key.pem'));
    await writeFile(meta, '{"kid": "devzts.0"}');
    await expect(start()).rejects.toThrow(/signing\.key\.pem is missing/);
  });

  it('leaves no temp files behind', async () => {
    const zts = await start();
    await zts.issueClientIdentity('demo.agent');
    const names = [
      ...(await readdir(join(dir, 'state'))),
      ...(await readdir(join(dir, 'state', 'clients'))),
      ...(await readdir(join(dir, 'state', 'clients', 'issued'))),
    ];
    expect(names.filter((name) => name.startsWith('.'))).toEqual([]);
  });
});
