// The dev CA and the certificates it issues (EC P-256, ECDSA with SHA-256): a self-signed CA, the
// TLS server cert, and client identity certs shaped like Athenz service certs.

import { createPublicKey, randomBytes, webcrypto } from 'node:crypto';

import * as x509 from '../x509.js';

export type CryptoKey = webcrypto.CryptoKey;

export interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** PKCS#8 PEM of the private key, as written to disk. */
  privateKeyPem: string;
}

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const CA_VALIDITY_MS = 3650 * DAY_MS;
export const SERVER_VALIDITY_MS = 365 * DAY_MS;
export const CLIENT_VALIDITY_MS = 30 * DAY_MS;

export async function generateKeyPair(): Promise<KeyPair> {
  const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { ...keys, privateKeyPem: x509.PemConverter.encode(der, 'PRIVATE KEY') };
}

/** Imports a PKCS#8 PEM private key for signing certificates. */
export async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
}

/** Whether a private key PEM belongs to the certificate. */
export function keyMatchesCert(privateKeyPem: string, cert: x509.X509Certificate): boolean {
  const spki = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
  return spki.equals(Buffer.from(cert.publicKey.rawData));
}

export async function createCa(keys: KeyPair, now = Date.now()): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=Athenz Dev ZTS CA, O=athenz-credential-agent',
    notBefore: new Date(now - HOUR_MS),
    notAfter: new Date(now + CA_VALIDITY_MS),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

export interface Issuer {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

/** The TLS server cert: valid for 127.0.0.1, ::1 and localhost. */
export async function issueServerCert(
  ca: Issuer,
  publicKey: CryptoKey,
  now = Date.now(),
): Promise<x509.X509Certificate> {
  return issue(ca, publicKey, 'CN=localhost', now, SERVER_VALIDITY_MS, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
      { type: 'dns', value: 'localhost' },
    ]),
  ]);
}

/**
 * A service identity cert. Athenz's CertificateAuthority takes the principal from the CN
 * (`<domain>.<service>`); the SPIFFE URI is the one SIA puts in service CSRs.
 */
export async function issueClientCert(
  ca: Issuer,
  publicKey: CryptoKey,
  principal: string,
  validityMs = CLIENT_VALIDITY_MS,
  now = Date.now(),
): Promise<x509.X509Certificate> {
  const dot = principal.lastIndexOf('.');
  const spiffe = `spiffe://${principal.slice(0, dot)}/sa/${principal.slice(dot + 1)}`;
  return issue(ca, publicKey, `CN=${principal}`, now, validityMs, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffe }]),
  ]);
}

/** Signed by this CA and valid at `now`: worth keeping rather than reissuing. */
export async function isCurrent(
  cert: x509.X509Certificate,
  ca: x509.X509Certificate,
  now = Date.now(),
): Promise<boolean> {
  const inDate = cert.notBefore.getTime() <= now && now < cert.notAfter.getTime();
  return inDate && (await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }));
}

/**
 * A random positive 128-bit serial whose first byte is 0x10–0x7f, so the hex is the same whether
 * a tool strips leading zeros or not.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0x70);
  return bytes.toString('hex');
}

async function issue(
  ca: Issuer,
  publicKey: CryptoKey,
  subject: string,
  now: number,
  validityMs: number,
  extensions: x509.Extension[],
): Promise<x509.X509Certificate> {
  // Backdated by an hour against clock skew, as ZTS does with the certs it signs.
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(now - HOUR_MS),
    notAfter: new Date(now + validityMs),
    publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
      ...extensions,
    ],
  });
}
