import { X509Certificate, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { parsePrincipalToken } from '../../src/athenz/principal-token.js';
import { verifyToken } from '../../src/athenz/signed-token.js';
import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { startAgent } from '../helpers/agent-fixture.js';
import type { AgentFixture } from '../helpers/agent-fixture.js';
import type { DevZtsFixture } from '../helpers/devzts.js';
import { delay, waitFor } from '../helpers/wait.js';

let fixture: AgentFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

/** Replaces a file the way SIA or kubelet would: write elsewhere, then rename over it. */
async function replace(source: string, target: string): Promise<void> {
  await copyFile(source, `${target}.new`);
  await rename(`${target}.new`, target);
}

const tokenPolicy = (tokenExpiry?: string): DevZtsPolicy => ({
  services: ['demo.agent'],
  domains: {
    sports: {
      roles: {
        reader: { members: ['demo.agent', 'sports.api'], ...(tokenExpiry ? { tokenExpiry } : {}) },
      },
    },
  },
});

/** Copies demo.agent's cert and key to `<dir>/id/`, where FILES_IDENTITY points. */
async function placeDemoIdentity(fx: DevZtsFixture): Promise<void> {
  await mkdir(join(fx.dir, 'id'));
  const demo = fx.zts.clientIdentity('demo.agent');
  await copyFile(demo.certFile, join(fx.dir, 'id', 'cert.pem'));
  await copyFile(demo.keyFile, join(fx.dir, 'id', 'key.pem'));
}

const FILES_IDENTITY = `identity: {certFile: "{dir}/id/cert.pem", keyFile: "{dir}/id/key.pem"}`;

describe('identity from files', () => {
  it('uses rotated files for the very next request and closes the old connections', async () => {
    fixture = await startAgent({
      policy: tokenPolicy(),
      identity: FILES_IDENTITY,
      before: placeDemoIdentity,
      yaml: `accessTokens:\n  - {domain: sports, roles: [reader], expiry: 1h}\n`,
    });
    const zts = fixture.zts;
    const tokenRequests = () => zts.requests.filter((entry) => entry.endpoint === 'accessToken');
    await waitFor(() => tokenRequests().length === 1, { what: 'first token' });
    const first = tokenRequests()[0]!.clientCertSerial;

    const next = await zts.issueClientIdentity('demo.agent');
    const id = join(fixture.fx.dir, 'id');
    await replace(next.keyFile, join(id, 'key.pem'));
    await replace(next.certFile, join(id, 'cert.pem'));

    // The rotation itself triggers a refresh: tokens bound (cnf) to the old certificate go.
    await waitFor(() => tokenRequests().length >= 2, { what: 'refresh after rotation' });
    expect(
      tokenRequests()
        .slice(1)
        .every((entry) => entry.clientCertSerial === next.serial),
    ).toBe(true);
    expect(next.serial).not.toBe(first);
    await waitFor(() => zts.openConnections <= 1, { what: 'old connections closed' });
    // The token on disk ends up bound to the new certificate (the log entry precedes the write).
    const newCert = new X509Certificate(await readFile(next.certFile));
    const thumbprint = Buffer.from(newCert.fingerprint256.replaceAll(':', ''), 'hex').toString(
      'base64url',
    );
    await waitFor(
      async () => {
        const jwt = await readFile(join(fixture!.outDir, 'sports:role.reader.accesstoken'), 'utf8');
        const claims = await fixture!.verifyJwt(jwt);
        return (claims.cnf as Record<string, string>)['x5t#S256'] === thumbprint;
      },
      { what: 'a token bound to the new certificate' },
    );
  });

  it('ignores a cert and key that do not match until they do', async () => {
    fixture = await startAgent({
      policy: tokenPolicy('2s'),
      identity: FILES_IDENTITY,
      before: placeDemoIdentity,
      yaml: `refresh: {fraction: 0.2, jitter: 0, floor: 100ms}\naccessTokens:\n  - {domain: sports, roles: [reader]}\n`,
    });
    const zts = fixture.zts;
    const serials = () =>
      zts.requests
        .filter((entry) => entry.endpoint === 'accessToken')
        .map((entry) => entry.clientCertSerial);
    await waitFor(() => serials().length >= 1, { what: 'first token' });
    const old = serials()[0];

    const next = await zts.issueClientIdentity('demo.agent');
    const id = join(fixture.fx.dir, 'id');
    await replace(next.certFile, join(id, 'cert.pem')); // the new cert, still the old key
    const mismatchFrom = serials().length;
    await delay(1500);
    expect(serials().length).toBeGreaterThan(mismatchFrom + 1);
    expect(
      serials()
        .slice(mismatchFrom)
        .every((serial) => serial === old),
    ).toBe(true);
    expect(
      fixture.logs.lines.some(
        (line) =>
          line.msg === 'identity files changed but are not usable; keeping the previous identity',
      ),
    ).toBe(true);

    await replace(next.keyFile, join(id, 'key.pem'));
    await waitFor(() => serials().at(-1) === next.serial, { what: 'the new serial' });
  });

  it('waits for identity files that are absent or empty at start, then starts at once', async () => {
    fixture = await startAgent({
      policy: tokenPolicy(),
      identity: FILES_IDENTITY,
      before: async (fx) => {
        await mkdir(join(fx.dir, 'id'));
        await writeFile(join(fx.dir, 'id', 'key.pem'), ''); // empty, as a half-done writer leaves it
      },
      yaml: `accessTokens:\n  - {domain: sports, roles: [reader]}\n`,
    });
    await delay(1500);
    const waiting = await fixture.probe('/readyz');
    expect(waiting.status).toBe(503);
    expect((waiting.json as { problems: string[] }).problems.join(' ')).toMatch(/cert\.pem/);
    expect((await fixture.probe('/healthz')).status).toBe(200);

    const demo = fixture.zts.clientIdentity('demo.agent');
    const id = join(fixture.fx.dir, 'id');
    const placedAt = Date.now();
    await replace(demo.keyFile, join(id, 'key.pem'));
    await replace(demo.certFile, join(id, 'cert.pem'));
    await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    expect(Date.now() - placedAt).toBeLessThan(2000);
  });
});

describe('identity by instance registration', () => {
  const registerPolicy = (refresh: boolean): DevZtsPolicy => ({
    services: ['demo.agent'],
    providers: {
      'sys.auth.k8s': {
        attestation: ['attest-1'],
        refresh,
        certExpiry: '3s',
        dnsSuffix: 'athenz.cloud',
        services: ['sports.api'],
      },
    },
    domains: { sports: { roles: { reader: { members: ['sports.api'] } } } },
  });
  const REGISTER = `identity: {source: register, provider: sys.auth.k8s, domain: sports, service: api, instanceId: pod-1, attestationFile: "{dir}/sa-token"}`;

  it.each([
    [true, 'instanceRefresh'],
    [false, 'instanceRegister'],
  ])(
    'registers, then renews (provider refreshes: %s) and writes the three identity files',
    async (refresh, renewal) => {
      fixture = await startAgent({
        policy: registerPolicy(refresh),
        identity: REGISTER,
        before: async (fx) => {
          await writeFile(join(fx.dir, 'sa-token'), 'attest-1\n');
        },
        yaml: `refresh: {fraction: 0.5, jitter: 0, floor: 100ms}\naccessTokens:\n  - {domain: sports, roles: [reader], expiry: 1h}\n`,
      });
      const zts = fixture.zts;
      await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
        what: 'ready',
      });

      const register = zts.requests.find((entry) => entry.endpoint === 'instanceRegister');
      expect(register).toMatchObject({ status: 201 });
      const token = zts.requests.find((entry) => entry.endpoint === 'accessToken');
      expect(token).toMatchObject({ status: 200, principal: 'sports.api' });

      const out = fixture.outDir;
      const certPem = await readFile(join(out, 'service.cert.pem'), 'utf8');
      const cert = new X509Certificate(certPem);
      expect(cert.subject).toContain('CN=sports.api');
      expect(cert.subjectAltName).toContain('URI:spiffe://sports/sa/api');
      expect(cert.subjectAltName).toContain('URI:athenz://instanceid/sys.auth.k8s/pod-1');
      expect(certPem).toContain(await readFile(join(out, 'ca.cert.pem'), 'utf8'));
      expect((await stat(join(out, 'service.key.pem'))).mode & 0o777).toBe(0o400);

      // Renewal near half of the 3 s lifetime: refresh over mTLS, or register again when refused.
      await waitFor(
        () =>
          zts.requests.filter((entry) => entry.endpoint === renewal && entry.status < 300).length >=
          (renewal === 'instanceRegister' ? 2 : 1),
        { timeoutMs: 8000, what: renewal },
      );
      if (!refresh) {
        expect(
          zts.requests.some(
            (entry) => entry.endpoint === 'instanceRefresh' && entry.status === 403,
          ),
        ).toBe(true);
      } else {
        const refreshed = zts.requests.find((entry) => entry.endpoint === 'instanceRefresh')!;
        expect(refreshed.clientCertSerial).toBe(cert.serialNumber.toLowerCase());
      }
      await waitFor(
        async () =>
          new X509Certificate(await readFile(join(out, 'service.cert.pem'))).serialNumber !==
          cert.serialNumber,
        { what: 'a new certificate on disk' },
      );
    },
  );
});

describe('identity by N-token', () => {
  it('authenticates with signed N-tokens and writes one for apps', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    fixture = await startAgent({
      policy: {
        services: ['demo.agent'],
        publicKeys: { 'sports.api': { '0': publicPem } },
        domains: { sports: { roles: { reader: { members: ['sports.api'] } } } },
      },
      identity: `identity: {source: ntoken, domain: sports, service: api, keyFile: "{dir}/api.key.pem", file: sports.api.ntoken}`,
      before: async (fx) => {
        await writeFile(
          join(fx.dir, 'api.key.pem'),
          privateKey.export({ type: 'pkcs8', format: 'pem' }),
        );
      },
      yaml: `accessTokens:\n  - {domain: sports, roles: [reader]}\nroleCerts:\n  - {domain: sports, role: reader}\n`,
    });
    await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });

    const authenticated = fixture.zts.requests.filter(
      (entry) => entry.endpoint === 'accessToken' || entry.endpoint === 'roleCert',
    );
    expect(authenticated.map((entry) => [entry.status, entry.authority, entry.principal])).toEqual(
      [
        [200, 'ntoken', 'sports.api'],
        [200, 'ntoken', 'sports.api'],
      ].slice(0, authenticated.length),
    );
    expect(authenticated).toHaveLength(2);
    const jwt = await readFile(join(fixture.outDir, 'sports:role.reader.accesstoken'), 'utf8');
    expect((await fixture.verifyJwt(jwt)).cnf).toBeUndefined();

    const ntoken = await readFile(join(fixture.outDir, 'sports.api.ntoken'), 'utf8');
    expect(verifyToken(ntoken, createPublicKey(publicPem))).toBe(true);
    expect(parsePrincipalToken(ntoken)).toMatchObject({
      domain: 'sports',
      service: 'api',
      keyId: '0',
    });
    expect(fixture.logs.raw.join('')).not.toContain(ntoken.slice(-30));
  });
});

describe('identity edge cases', () => {
  const registerPolicy: DevZtsPolicy = {
    services: ['demo.agent'],
    providers: {
      'sys.auth.k8s': {
        attestation: ['attest-1'],
        refresh: true,
        certExpiry: '1h',
        dnsSuffix: 'athenz.cloud',
        services: ['sports.api'],
      },
    },
    domains: { sports: { roles: { reader: { members: ['sports.api'] } } } },
  };

  it('registers once when ZTS leaves out the signer chain, fetching the CA bundle with the new certificate', async () => {
    fixture = await startAgent({
      policy: registerPolicy,
      start: false,
      identity: `identity: {source: register, provider: sys.auth.k8s, domain: sports, service: api, instanceId: pod-1, attestationFile: "{dir}/sa-token"}`,
      before: async (fx) => {
        await writeFile(join(fx.dir, 'sa-token'), 'attest-1');
      },
      yaml: `accessTokens:\n  - {domain: sports, roles: [reader]}\n`,
    });
    const agent = fixture;
    agent.zts.faults.set('instanceRegister', {
      kind: 'body',
      body: (normal) => {
        const answer = { ...(normal as Record<string, unknown>) };
        delete answer.x509CertificateSigner;
        return JSON.stringify(answer);
      },
    });
    agent.agent.start();
    await waitFor(() => agent.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    expect(
      agent.zts.requests.filter((entry) => entry.endpoint === 'instanceRegister'),
    ).toHaveLength(1);
    expect((await readFile(join(agent.outDir, 'ca.cert.pem'), 'utf8')).trim()).toBe(
      (await readFile(agent.zts.caFile, 'utf8')).trim(),
    );
  });

  it('registers again when the instance id changes', async () => {
    fixture = await startAgent({
      policy: registerPolicy,
      identity: `identity: {source: register, provider: sys.auth.k8s, domain: sports, service: api, instanceId: pod-1, attestationFile: "{dir}/sa-token"}`,
      before: async (fx) => {
        await writeFile(join(fx.dir, 'sa-token'), 'attest-1');
      },
      yaml: `refresh: {floor: 100ms}\naccessTokens:\n  - {domain: sports, roles: [reader]}\n`,
    });
    const agent = fixture;
    await waitFor(() => agent.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    const text = (await readFile(agent.configFile, 'utf8')).replace(
      'instanceId: pod-1',
      'instanceId: pod-2',
    );
    await writeFile(agent.configFile, text);
    const { loadConfig } = await import('../../src/config/load.js');
    await agent.agent.apply(await loadConfig(agent.configFile));
    await waitFor(
      async () =>
        new X509Certificate(
          await readFile(join(agent.outDir, 'service.cert.pem')),
        ).subjectAltName?.includes('instanceid/sys.auth.k8s/pod-2') === true,
      { what: 'a certificate for pod-2' },
    );
    const registrations = agent.zts.requests.filter(
      (entry) => entry.endpoint === 'instanceRegister' && entry.status === 201,
    );
    expect(registrations.map((entry) => entry.instanceId)).toEqual(['pod-1', 'pod-2']);
  });

  it('does not adopt, after a restart, a token bound to a certificate that has since rotated', async () => {
    fixture = await startAgent({
      policy: tokenPolicy(),
      identity: FILES_IDENTITY,
      before: placeDemoIdentity,
      yaml: `accessTokens:\n  - {domain: sports, roles: [reader], expiry: 1h}\n`,
    });
    const agent = fixture;
    await waitFor(() => agent.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    await agent.agent.stop();
    const next = await agent.zts.issueClientIdentity('demo.agent');
    await replace(next.keyFile, join(agent.fx.dir, 'id', 'key.pem'));
    await replace(next.certFile, join(agent.fx.dir, 'id', 'cert.pem'));
    const before = agent.zts.requests.length;

    const { Agent } = await import('../../src/agent/agent.js');
    const second = new Agent(agent.config, { logger: agent.logs.logger });
    try {
      second.start();
      await waitFor(() => agent.zts.requests.length > before, { what: 'a refetch' });
      expect(agent.zts.requests.at(-1)?.clientCertSerial).toBe(next.serial);
    } finally {
      await second.stop();
    }
  });

  it('recovers readiness when an N-token key goes missing and comes back', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fixture = await startAgent({
      policy: {
        services: ['demo.agent'],
        publicKeys: {
          'sports.api': { '0': publicKey.export({ type: 'spki', format: 'pem' }).toString() },
        },
        domains: { sports: { roles: { reader: { members: ['sports.api'], tokenExpiry: '2s' } } } },
      },
      identity: `identity: {source: ntoken, domain: sports, service: api, keyFile: "{dir}/api.key.pem"}`,
      before: async (fx) => {
        await writeFile(
          join(fx.dir, 'api.key.pem'),
          privateKey.export({ type: 'pkcs8', format: 'pem' }),
        );
      },
      yaml: `refresh: {fraction: 0.25, floor: 100ms}\naccessTokens:\n  - {domain: sports, roles: [reader]}\n`,
    });
    const agent = fixture;
    await waitFor(() => agent.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    const keyFile = join(agent.fx.dir, 'api.key.pem');
    await rename(keyFile, `${keyFile}.bak`);
    await delay(1500);
    // Still signing with the key it holds: ready throughout.
    expect((await agent.probe('/readyz')).status).toBe(200);
    await rename(`${keyFile}.bak`, keyFile);
    await delay(1000);
    expect((await agent.probe('/readyz')).json).toMatchObject({ ready: true, problems: [] });
  });
});
