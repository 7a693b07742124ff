import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadDevZtsPolicy, parseDevZtsPolicy } from '../../src/devzts/index.js';
import { ConfigError } from '../../src/errors.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devzts-policy-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(yaml: string): Promise<unknown> {
  const file = join(dir, `policy-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  return loadDevZtsPolicy(file);
}

async function issuesOf(yaml: string): Promise<readonly string[]> {
  const error: unknown = await load(yaml).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues;
}

describe('loadDevZtsPolicy', () => {
  it('reads the documented format and lower-cases every name', async () => {
    const policy = await load(`
services: [Demo.Agent]
domains:
  Sports:
    tokenExpiry: 2h
    roles:
      Reader:
        members: [DEMO.agent]
        tokenExpiry: 5m
      writer:
        members: [demo.agent, other.svc]
`);
    expect(policy).toEqual({
      services: ['demo.agent'],
      domains: {
        sports: {
          tokenExpiry: '2h',
          roles: {
            reader: { members: ['demo.agent'], tokenExpiry: '5m' },
            writer: { members: ['demo.agent', 'other.svc'] },
          },
        },
      },
    });
  });

  it('defaults services and roles to empty', async () => {
    expect(await load('domains:\n  sports: {}\n')).toEqual({
      services: [],
      domains: { sports: { roles: {} } },
    });
  });

  it('names the key path, the value and the rule for each problem', async () => {
    const issues = await issuesOf(`
services: [agent]
domains:
  sports:
    tokenExpiry: soon
    roles:
      reader:
        member: [demo.agent]
      bad/role:
        members: []
`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/services\.0: "agent" is not a principal name$/),
        expect.stringMatching(/domains\.sports\.tokenExpiry: "soon" is not a duration/),
        expect.stringMatching(/domains\.sports\.roles\.reader: unknown key "member"$/),
        expect.stringMatching(
          /domains\.sports\.roles\.reader\.members: missing \(expected array\)$/,
        ),
        expect.stringMatching(/domains\.sports\.roles\.bad\/role: "bad\/role" is not a valid role/),
      ]),
    );
    expect(issues.every((line) => line.startsWith(dir))).toBe(true);
  });

  it('rejects unknown top-level keys, wrong types and bad domain names', async () => {
    const issues = await issuesOf('service: x\nservices: demo.agent\ndomains:\n  "a..b": {}\n');
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\(top level\): unknown key "service"$/),
        expect.stringMatching(/services: expected array, got "demo.agent"$/),
        expect.stringMatching(/domains\.a\.\.b: "a\.\.b" is not a valid domain name$/),
      ]),
    );
  });

  it('rejects names that collide once lower-cased', async () => {
    const issues = await issuesOf('domains:\n  sports: {}\n  Sports: {}\n');
    expect(issues).toEqual([expect.stringMatching(/duplicates domain "sports"/)]);
  });

  it('rejects a duration given as a number', async () => {
    const issues = await issuesOf('domains:\n  sports:\n    tokenExpiry: 300\n');
    expect(issues).toEqual([expect.stringMatching(/tokenExpiry: expected string, got 300$/)]);
  });

  it('reports unreadable files and broken YAML with their own codes', async () => {
    const missing = join(dir, 'missing.yaml');
    await expect(loadDevZtsPolicy(missing)).rejects.toMatchObject({ code: 'CONFIG_READ' });
    await expect(load('domains: [unclosed')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('cert, provider and key settings', () => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();

  it('reads cert caps, providers with their defaults, and the cert DNS suffix', async () => {
    const policy = await load(`
certDnsSuffix: Athenz.Cloud,.zts.example
providers:
  Sys.Auth.K8s:
    attestation: [attest-token-1]
    certExpiry: 7d
    dnsSuffix: Athenz.Cloud
domains:
  sports:
    certExpiry: 1h
    serviceCertExpiry: 1d
    roles:
      reader: { members: [demo.agent], certExpiry: 10m }
`);
    expect(policy).toEqual({
      services: [],
      certDnsSuffix: 'athenz.cloud,.zts.example',
      providers: {
        'sys.auth.k8s': {
          attestation: ['attest-token-1'],
          refresh: true,
          certExpiry: '7d',
          dnsSuffix: 'athenz.cloud',
          services: [],
        },
      },
      domains: {
        sports: {
          certExpiry: '1h',
          serviceCertExpiry: '1d',
          roles: { reader: { members: ['demo.agent'], certExpiry: '10m' } },
        },
      },
    });
  });

  it('reads public keys as PEM text or as files next to the policy', async () => {
    const keys = join(dir, 'keys');
    await mkdir(keys, { recursive: true });
    await writeFile(join(keys, 'agent.pem'), pem);
    const inline = JSON.stringify(pem);
    const policy = (await load(
      `publicKeys:\n  Demo.Agent:\n    "0": keys/agent.pem\n    "1": ${inline}\ndomains: {}\n`,
    )) as { publicKeys: Record<string, Record<string, string>> };
    expect(policy.publicKeys).toEqual({ 'demo.agent': { '0': pem, '1': pem } });
  });

  it('names unreadable key files, bad PEM and bad provider settings', async () => {
    const missing = await issuesOf('publicKeys:\n  demo.agent:\n    "0": nope.pem\ndomains: {}\n');
    expect(missing).toEqual([
      expect.stringMatching(/publicKeys\.demo\.agent\.0: cannot read .*nope\.pem: /),
    ]);
    const issues = await issuesOf(`
publicKeys:
  demo.agent: { "0": "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----" }
providers:
  sys.auth.k8s:
    refresh: maybe
    dnsSuffix: "not a suffix"
    services: [api]
domains: {}
`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/publicKeys\.demo\.agent\.0: .* is not a PEM public key/),
        expect.stringMatching(/providers\.sys\.auth\.k8s\.attestation: missing/),
        expect.stringMatching(/providers\.sys\.auth\.k8s\.refresh: expected boolean/),
        expect.stringMatching(/providers\.sys\.auth\.k8s\.dnsSuffix: "not a suffix" is not a DNS/),
        expect.stringMatching(/providers\.sys\.auth\.k8s\.services\.0: "api" is not a principal/),
      ]),
    );
  });

  it('accepts only PEM text when the policy does not come from a file', () => {
    expect(() =>
      parseDevZtsPolicy({ publicKeys: { 'demo.agent': { '0': 'keys/agent.pem' } }, domains: {} }),
    ).toThrow(/file paths are read only when the policy is loaded from a file/);
    const policy = parseDevZtsPolicy({ publicKeys: { 'demo.agent': { '0': pem } }, domains: {} });
    expect(parseDevZtsPolicy(policy)).toEqual(policy);
  });
});

describe('parseDevZtsPolicy', () => {
  it('is idempotent on its own output', () => {
    const once = parseDevZtsPolicy({
      services: ['Demo.Agent'],
      domains: { Sports: { roles: { R: { members: ['Demo.Agent'] } } } },
    });
    expect(parseDevZtsPolicy(once)).toEqual(once);
  });

  it('never lets a __proto__ key reach the prototype of the domain map', () => {
    const raw: unknown = JSON.parse('{"domains":{"__proto__":{"roles":{}},"sports":{}}}');
    const policy = parseDevZtsPolicy(raw);
    expect(Object.getPrototypeOf(policy.domains)).toBe(Object.prototype);
    expect(Object.keys(policy.domains)).toEqual(['sports']);
  });
});
