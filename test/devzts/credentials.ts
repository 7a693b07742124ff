// Test credentials for the dev ZTS cert and N-token APIs: CSRs built with @peculiar/x509 (EC P-256
// or RSA 2048 keys, any subject and SANs), N-token signing keys, and a check that a PEM cert was
// issued by the dev CA.

import { X509Certificate, createPrivateKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { signPrincipalToken } from '../../src/athenz/principal-token.js';
import type { PrincipalTokenClaims } from '../../src/athenz/principal-token.js';
import * as x509 from '../../src/x509.js';

export type KeyKind = 'ec' | 'rsa';

export interface SanSpec {
  dns?: string[];
  emails?: string[];
  uris?: string[];
  ips?: string[];
}

export interface CsrSpec extends SanSpec {
  /** Subject CN; left out when undefined. */
  cn?: string | undefined;
  key?: KeyKind;
  /** Sign with this key pair instead of a fresh one (e.g. to reuse a service key). */
  keys?: webcrypto.CryptoKeyPair;
}

export interface TestCsr {
  csr: string;
  /** PKCS#8 PEM of the CSR's private key: pair it with the issued cert for mTLS. */
  keyPem: string;
  keys: webcrypto.CryptoKeyPair;
}

const ALGORITHMS = {
  ec: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  rsa: {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
} as const;

export async function buildCsr(spec: CsrSpec): Promise<TestCsr> {
  const algorithm = ALGORITHMS[spec.key ?? 'ec'];
  const keys =
    spec.keys ?? (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']));
  const names: x509.JsonGeneralName[] = [
    ...(spec.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(spec.emails ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(spec.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(spec.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(spec.cn === undefined ? {} : { name: `CN=${spec.cn}, O=Athenz Test` }),
    keys,
    signingAlgorithm: algorithm,
    extensions: names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    csr: request.toString('pem'),
    keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY'),
    keys,
  };
}

/** The same CSR with one bit of its signature flipped: it parses but does not verify. */
export function tamperSignature(csrPem: string): string {
  const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
  const last = der.length - 1;
  der[last] = (der[last] ?? 0) ^ 0x01;
  return x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
}

export interface NTokenKey {
  privateKey: KeyObject;
  publicKeyPem: string;
}

export function nTokenKey(kind: KeyKind = 'ec'): NTokenKey {
  const { privateKey, publicKey } =
    kind === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A signed S1 N-token for `<domain>.<service>`, valid for an hour from now unless overridden. */
export function nToken(
  key: KeyObject | string,
  principal: string,
  overrides: Partial<PrincipalTokenClaims> = {},
): string {
  const dot = principal.lastIndexOf('.');
  const now = Math.floor(Date.now() / 1000);
  const privateKey = typeof key === 'string' ? createPrivateKey(key) : key;
  return signPrincipalToken(
    {
      domain: principal.slice(0, dot),
      service: principal.slice(dot + 1),
      keyId: '0',
      issuedAt: now,
      expiresAt: now + 3600,
      ...overrides,
    },
    privateKey,
  );
}

/** Parses a PEM cert and checks that the dev CA in `caFile` signed it. */
export async function issuedByCa(certPem: string, caFile: string): Promise<X509Certificate> {
  const ca = new X509Certificate(await readFile(caFile, 'utf8'));
  const cert = new X509Certificate(certPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new Error(`${cert.subject} was not issued by the dev CA`);
  }
  return cert;
}

/** Lifetime from now in minutes (fractional), and how far notBefore lies before now in minutes. */
export function certTimes(cert: X509Certificate): { lifetimeMins: number; backdateMins: number } {
  const now = Date.now();
  return {
    lifetimeMins: (Date.parse(cert.validTo) - now) / 60_000,
    backdateMins: (now - Date.parse(cert.validFrom)) / 60_000,
  };
}
