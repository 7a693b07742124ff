// Signs a CSR with the dev CA, as ZTS's cert signer does: the CSR's subject and SANs are copied,
// the key usage follows the request kind (role certs: client only; service certs: client and
// server), the serial is random, and notBefore is backdated an hour against clock skew.

import * as x509 from '../x509.js';
import type { ParsedCsr } from './csr.js';
import { randomSerial } from './pki.js';
import type { Issuer } from './pki.js';

export type CertUsage = 'client' | 'client+server';

const HOUR_MS = 3_600_000;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

export async function signCsr(
  ca: Issuer,
  csr: ParsedCsr,
  usage: CertUsage,
  lifetimeMs: number,
  now = Date.now(),
): Promise<x509.X509Certificate> {
  const purposes =
    usage === 'client'
      ? [x509.ExtendedKeyUsage.clientAuth]
      : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: csr.request.subjectName,
    issuer: ca.cert.subjectName,
    notBefore: new Date(now - HOUR_MS),
    notAfter: new Date(now + lifetimeMs),
    publicKey: csr.request.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(purposes),
      await x509.SubjectKeyIdentifierExtension.create(csr.request.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
      ...(csr.sanExtension === undefined ? [] : [csr.sanExtension]),
    ],
  });
}
