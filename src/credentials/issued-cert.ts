// Checks a certificate ZTS issued before anything reaches disk: it must parse, name what was
// asked for, carry our public key and not be expired.

import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { commonNameOf } from '../athenz/cert-names.js';
import { badResponse } from '../zts/client.js';
import { checkValidity } from './issued.js';
import { publicKeyDer } from './keys.js';

export interface CheckedCert {
  pem: string;
  notAfter: number;
  serial: string;
}

/** A certificate valid only from later than this is refused (it would not work yet). */
const MAX_NOT_BEFORE_AHEAD_MS = 5 * 60_000;

export function checkIssuedCert(
  pem: string,
  expected: {
    commonName: string;
    key: KeyObject;
    what: string;
    /** When known, the CA bundle the certificate must chain to. */
    issuers?: string;
  },
  now = Date.now(),
): CheckedCert {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (error) {
    throw badResponse(expected.what, 'the certificate does not parse', undefined, error);
  }
  const commonName = commonNameOf(cert);
  if (commonName !== expected.commonName) {
    throw badResponse(
      expected.what,
      `the certificate is for ${JSON.stringify(commonName)}, not ${expected.commonName}`,
    );
  }
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(publicKeyDer(expected.key))) {
    throw badResponse(expected.what, 'the certificate does not carry the requested public key');
  }
  const notBefore = Date.parse(cert.validFrom);
  if (notBefore > now + MAX_NOT_BEFORE_AHEAD_MS) {
    throw badResponse(expected.what, `the certificate is not valid before ${cert.validFrom}`);
  }
  if (expected.issuers !== undefined && !issuedByOneOf(cert, expected.issuers)) {
    throw badResponse(expected.what, 'the certificate does not chain to the CA bundle ZTS sent');
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

function issuedByOneOf(cert: X509Certificate, bundle: string): boolean {
  const blocks =
    bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.some((block) => {
    try {
      const issuer = new X509Certificate(block);
      return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
    } catch {
      return false;
    }
  });
}

/** One trailing newline, so concatenated PEM blocks stay well-formed. */
export function normalisePem(pem: string): string {
  return `${pem.trim()}\n`;
}
