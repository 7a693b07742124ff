// The state folder: the first start creates the CA, server cert, client identities and signing
// key; later starts reuse them (same CA, same key id). Each key is written before its cert, so a
// cert on disk always has its key; a missing cert means "create", a missing key means corruption.
//
//   ca.key.pem, ca.cert.pem               the dev CA
//   server.key.pem, server.cert.pem       TLS server identity (127.0.0.1, ::1, localhost)
//   clients/<principal>.{cert,key}.pem    one identity per policy service
//   clients/issued/<principal>.<serial>.* extra identities from issueClientIdentity()
//   signing.key.pem, signing.json         token signing key and its key id

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import * as x509 from '../x509.js';
import { readIfExists, writeFileAtomic } from './files.js';
import {
  createCa,
  generateKeyPair,
  importPrivateKey,
  isCurrent,
  issueClientCert,
  issueServerCert,
  keyMatchesCert,
} from './pki.js';
import type { CryptoKey, Issuer } from './pki.js';
import { loadOrCreateSigner } from './signer.js';
import type { Signer } from './signer.js';
import type { DevZtsIdentityFiles } from './types.js';

export interface DevZtsState {
  readonly stateDir: string;
  readonly caFile: string;
  readonly ca: Issuer;
  readonly caPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly signer: Signer;
  /** Identities of the policy services, by principal. */
  readonly clients: ReadonlyMap<string, DevZtsIdentityFiles>;
}

interface LoadedPair {
  cert: x509.X509Certificate;
  certPem: string;
  keyPem: string;
}

const PRIVATE = 0o600;
const PUBLIC = 0o644;

export async function loadOrCreateState(
  stateDir: string,
  services: readonly string[],
): Promise<DevZtsState> {
  await mkdir(join(stateDir, 'clients'), { recursive: true, mode: 0o700 });

  const caFile = join(stateDir, 'ca.cert.pem');
  const ca = await loadOrCreateCa(caFile, join(stateDir, 'ca.key.pem'));

  const server = await loadOrIssue(
    join(stateDir, 'server.cert.pem'),
    join(stateDir, 'server.key.pem'),
    ca.issuer,
    (publicKey) => issueServerCert(ca.issuer, publicKey),
  );

  const clients = new Map<string, DevZtsIdentityFiles>();
  for (const principal of services) {
    const files = clientFiles(stateDir, principal);
    await loadOrIssue(files.certFile, files.keyFile, ca.issuer, (publicKey) =>
      issueClientCert(ca.issuer, publicKey, principal),
    );
    clients.set(principal, files);
  }

  return {
    stateDir,
    caFile,
    ca: ca.issuer,
    caPem: ca.certPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    signer: await loadOrCreateSigner(stateDir),
    clients,
  };
}

/** A fresh identity for `principal` in its own file pair, named after the serial. */
export async function issueClientFiles(
  state: DevZtsState,
  principal: string,
  validityMs?: number,
): Promise<DevZtsIdentityFiles & { serial: string }> {
  const keys = await generateKeyPair();
  const cert = await issueClientCert(state.ca, keys.publicKey, principal, validityMs);
  const serial = cert.serialNumber.toLowerCase();
  // In a subfolder, so `<principal>.<serial>` can never be mistaken for a service's own pair.
  const files = clientFiles(state.stateDir, join('issued', `${principal}.${serial}`));
  await mkdir(join(state.stateDir, 'clients', 'issued'), { recursive: true, mode: 0o700 });
  await writePair(files.certFile, files.keyFile, cert.toString('pem'), keys.privateKeyPem);
  return { ...files, serial };
}

export function clientFiles(stateDir: string, name: string): DevZtsIdentityFiles {
  return {
    certFile: join(stateDir, 'clients', `${name}.cert.pem`),
    keyFile: join(stateDir, 'clients', `${name}.key.pem`),
  };
}

async function loadOrCreateCa(
  certFile: string,
  keyFile: string,
): Promise<{ issuer: Issuer; certPem: string }> {
  const existing = await loadPair(certFile, keyFile);
  if (existing !== undefined) {
    const key = await importPrivateKey(existing.keyPem);
    return { issuer: { cert: existing.cert, key }, certPem: existing.certPem };
  }
  const keys = await generateKeyPair();
  const cert = await createCa(keys);
  const certPem = cert.toString('pem');
  await writePair(certFile, keyFile, certPem, keys.privateKeyPem);
  return { issuer: { cert, key: keys.privateKey }, certPem };
}

/** Reuses a pair that this CA signed and that is still valid; otherwise issues a new one. */
async function loadOrIssue(
  certFile: string,
  keyFile: string,
  ca: Issuer,
  issue: (publicKey: CryptoKey) => Promise<x509.X509Certificate>,
): Promise<{ certPem: string; keyPem: string }> {
  const existing = await loadPair(certFile, keyFile);
  if (existing !== undefined && (await isCurrent(existing.cert, ca.cert))) {
    return existing;
  }
  const keys = await generateKeyPair();
  const certPem = (await issue(keys.publicKey)).toString('pem');
  await writePair(certFile, keyFile, certPem, keys.privateKeyPem);
  return { certPem, keyPem: keys.privateKeyPem };
}

async function loadPair(certFile: string, keyFile: string): Promise<LoadedPair | undefined> {
  const certPem = await readIfExists(certFile);
  if (certPem === undefined) {
    return undefined;
  }
  const keyPem = await readIfExists(keyFile);
  if (keyPem === undefined) {
    throw new Error(`${keyFile} is missing although ${certFile} exists; remove both to start over`);
  }
  const cert = new x509.X509Certificate(certPem);
  if (!keyMatchesCert(keyPem, cert)) {
    throw new Error(`${keyFile} does not belong to ${certFile}; remove both to start over`);
  }
  return { cert, certPem, keyPem };
}

async function writePair(
  certFile: string,
  keyFile: string,
  certPem: string,
  keyPem: string,
): Promise<void> {
  await writeFileAtomic(keyFile, keyPem, PRIVATE);
  await writeFileAtomic(certFile, certPem, PUBLIC);
}
