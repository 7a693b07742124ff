// Reads and checks the PEM files that make up an mTLS identity: a certificate, its private key
// and the CA bundle that ZTS's server certificate must chain to.

import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { commonNameOf, instanceIdOf } from '../athenz/cert-names.js';
import { IdentityError, describeCause } from '../errors.js';
import { fileFingerprint } from '../util/file-fingerprint.js';
import type { ZtsTlsMaterial } from '../zts/dispatcher.js';

export interface IdentityPaths {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface LoadedIdentity extends ZtsTlsMaterial {
  /** The Athenz principal, from the certificate's CN. */
  principal: string;
  serial: string;
  notAfter: Date;
  /** The `athenz://instanceid/…` id in the certificate, if any. */
  instanceId: string | undefined;
  /** RFC 8705 `x5t#S256`: base64url SHA-256 of the DER certificate, as in a token's `cnf`. */
  thumbprint: string;
}

/**
 * A cheap fingerprint of the files (inode, size, mtime). Stat follows symlinks, so a Secret or
 * emptyDir update by symlink swap or rename changes it.
 */
export async function fingerprint(paths: IdentityPaths): Promise<string> {
  const parts = await Promise.all(
    [paths.certFile, paths.keyFile, paths.caFile].map((path) =>
      fileFingerprint(path).catch(() => 'absent'),
    ),
  );
  return parts.join('|');
}

/** Reads the three files and checks that the key belongs to the certificate. */
export async function loadIdentity(paths: IdentityPaths): Promise<LoadedIdentity> {
  const [cert, key, ca] = await Promise.all([
    readPem(paths.certFile, 'identity certificate'),
    readPem(paths.keyFile, 'identity key'),
    readPem(paths.caFile, 'ZTS CA bundle'),
  ]);

  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new IdentityError(`${paths.certFile} holds no readable certificate`, error);
  }
  let publicKeyOfKey: Buffer;
  try {
    publicKeyOfKey = createPublicKey(createPrivateKey(key)).export({ type: 'spki', format: 'der' });
  } catch (error) {
    throw new IdentityError(`${paths.keyFile} holds no readable private key`, error);
  }
  const publicKeyOfCert = certificate.publicKey.export({ type: 'spki', format: 'der' });
  if (!publicKeyOfKey.equals(publicKeyOfCert)) {
    throw new IdentityError(
      `${paths.keyFile} does not match ${paths.certFile} (serial ${certificate.serialNumber}); waiting for a matching pair`,
    );
  }

  return {
    cert,
    key,
    ca,
    principal: commonNameOf(certificate) ?? '(no CN)',
    serial: certificate.serialNumber,
    notAfter: new Date(certificate.validTo),
    instanceId: instanceIdOf(certificate),
    thumbprint: createHash('sha256').update(certificate.raw).digest('base64url'),
  };
}

async function readPem(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new IdentityError(`cannot read the ${what} ${path}: ${describeCause(error)}`, error);
  }
  if (!text.includes('-----BEGIN')) {
    throw new IdentityError(`the ${what} ${path} is empty or not PEM (${text.length} bytes)`);
  }
  return text;
}
