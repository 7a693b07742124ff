// Checks a certificate ZTS issued before anything reaches disk: it must parse, name what was
// asked for, carry our public key and not be expired.

import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { badResponse } from '../zts/client.js';
import { checkValidity } from './issued.js';
import { publicKeyDer } from './keys.js';

export interface CheckedCert {
  pem: string;
  notAfter: number;
  serial: string;
}

export function checkIssuedCert(
  pem: string,
  expected: { commonName: string; key: KeyObject; what: string },
  now = Date.now(),
): CheckedCert {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (error) {
    throw badResponse(expected.what, 'the certificate does not parse', undefined, error);
  }
  const commonName = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  if (commonName?.toLowerCase() !== expected.commonName) {
    throw badResponse(
      expected.what,
      `the certificate is for ${JSON.stringify(commonName)}, not ${expected.commonName}`,
    );
  }
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(publicKeyDer(expected.key))) {
    throw badResponse(expected.what, 'the certificate does not carry the requested public key');
  }
  // notBefore cannot anchor a clock comparison: ZTS backdates certificates by an hour.
  const notAfter = Date.parse(cert.validTo);
  checkValidity(
    expected.what,
    'the certificate',
    { expiresAtS: notAfter / 1000 },
    { requestedAt: now, receivedAt: now },
  );
  return { pem: normalisePem(pem), notAfter, serial: cert.serialNumber };
}

/** One trailing newline, so concatenated PEM blocks stay well-formed. */
export function normalisePem(pem: string): string {
  return `${pem.trim()}\n`;
}
