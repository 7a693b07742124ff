import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';

import { afterEach, describe, expect, it } from 'vitest';

import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { startAgent } from '../helpers/agent-fixture.js';
import type { AgentFixture } from '../helpers/agent-fixture.js';
import { startPairReader } from '../helpers/poll-reader.js';
import { waitFor } from '../helpers/wait.js';

let fixture: AgentFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

const policy = (certExpiry?: string): DevZtsPolicy => ({
  services: ['demo.agent'],
  domains: {
    sports: {
      roles: {
        reader: { members: ['demo.agent'], ...(certExpiry ? { certExpiry } : {}) },
        writer: { members: ['demo.agent'] },
      },
    },
  },
});

function publicKeyOf(pem: string): Buffer {
  return createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
}

describe('role certificates', () => {
  it.each(['ec', 'rsa'] as const)(
    '%s: chain to the CA, carry the right names and match their key',
    async (keyType) => {
      fixture = await startAgent({
        policy: policy(),
        yaml: `roleCerts:
  - {domain: sports, role: reader, keyType: ${keyType}, expiry: 90m}
`,
      });
      const certFile = join(fixture.outDir, 'sports:role.reader.cert.pem');
      const keyFile = join(fixture.outDir, 'sports:role.reader.key.pem');
      await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
        what: 'ready',
      });

      const certPem = await readFile(certFile, 'utf8');
      const cert = new X509Certificate(certPem);
      const ca = new X509Certificate(await readFile(fixture.zts.caFile));
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.subject).toContain('CN=sports:role.reader');
      const names = cert.subjectAltName?.split(', ') ?? [];
      expect(names).toEqual(
        expect.arrayContaining([
          'URI:spiffe://sports/ra/reader',
          'URI:athenz://principal/demo.agent',
          'email:demo.agent@athenz.cloud',
          'DNS:agent.demo.athenz.cloud',
        ]),
      );
      expect(cert.publicKey.asymmetricKeyType).toBe(keyType);
      const keyPem = await readFile(keyFile, 'utf8');
      expect(
        publicKeyOf(keyPem).equals(cert.publicKey.export({ type: 'spki', format: 'der' })),
      ).toBe(true);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o400);
      expect((await stat(certFile)).mode & 0o777).toBe(0o440);

      // The lifetime is asked for in minutes, as ZTS takes it.
      const request = fixture.zts.requests.find((entry) => entry.endpoint === 'roleCert');
      expect(request).toMatchObject({ status: 200, requestedExpiryMins: 90 });
      // ZTS backdates certificates by an hour; the lifetime counts from the request, not notBefore.
      expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(89 * 60_000);
    },
  );

  it('never gives a reader a key and a certificate that do not match, through 100 rotations', async () => {
    fixture = await startAgent({
      policy: policy('2s'),
      yaml: `refresh: {fraction: 0.05, jitter: 0, floor: 100ms}
roleCerts:
  - {domain: sports, role: reader}
`,
    });
    const certFile = join(fixture.outDir, 'sports:role.reader.cert.pem');
    const keyFile = join(fixture.outDir, 'sports:role.reader.key.pem');
    const issued = () =>
      fixture!.zts.requests.filter(
        (entry) => entry.endpoint === 'roleCert' && entry.status === 200,
      );
    await waitFor(() => issued().length >= 1, { what: 'first role cert' });
    await waitFor(async () => (await stat(certFile).catch(() => undefined)) !== undefined, {
      what: 'cert file',
    });

    const reader = startPairReader(keyFile, certFile);
    const start = issued().length;
    await waitFor(() => issued().length >= start + 100, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: '100 rotations',
    });
    const report = await reader.stop();
    expect(report.mismatches).toBe(0);
    expect(report.failures).toBe(0);
    expect(report.serials).toBeGreaterThan(20);
    expect(report.pairs).toBeGreaterThan(100);
  }, 90_000);

  it('writes a PKCS#12 keystore that opens with the password, and only with it', async () => {
    fixture = await startAgent({
      policy: policy(),
      before: async (fx) => {
        await writeFile(join(fx.dir, 'p12.password'), 'changeit\n');
      },
      yaml: `roleCerts:
  - domain: sports
    role: writer
    keyType: rsa
    appendCaBundle: default
    pkcs12: {file: writer.p12, passwordFile: "{dir}/p12.password"}
`,
    });
    const p12File = join(fixture.outDir, 'writer.p12');
    await waitFor(async () => (await stat(p12File).catch(() => undefined)) !== undefined, {
      what: 'keystore',
    });
    const pfx = await readFile(p12File);
    expect(() => createSecureContext({ pfx, passphrase: 'changeit' })).not.toThrow();
    expect(() => createSecureContext({ pfx, passphrase: 'wrong' })).toThrow();
    expect((await stat(p12File)).mode & 0o777).toBe(0o400);
    // The PEM file carries the leaf and the (EC) CA bundle; the keystore the key and the leaf.
    const pem = await readFile(join(fixture.outDir, 'sports:role.writer.cert.pem'), 'utf8');
    expect(pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(pem).toContain((await readFile(fixture.zts.caFile, 'utf8')).trim());
  });

  it('rejects a PKCS#12 keystore for an EC key at config time, naming the key', async () => {
    await expect(
      startAgent({
        policy: policy(),
        yaml: `roleCerts:
  - {domain: sports, role: writer, pkcs12: {file: w.p12, passwordFile: /nope}}
`,
      }),
    ).rejects.toThrow(/roleCerts\[0\]\.pkcs12: needs keyType "rsa"/);
  });
});
