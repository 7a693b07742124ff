// PKCS#12 keystores for Java apps, built with node-forge. Forge reads RSA keys and certificates
// only, so the config check allows `pkcs12` with `keyType: rsa` alone.

import forge from 'node-forge';

/** A password-protected keystore (PBES2 AES-256 bags; forge MACs with HMAC-SHA1) holding the key and its chain. */
export function buildPkcs12(
  keyPem: string,
  certPems: readonly string[],
  password: string,
  friendlyName: string,
): Buffer {
  const key = forge.pki.privateKeyFromPem(keyPem);
  const [leaf, ...chain] = certPems;
  // The leaf carries our RSA key, so forge can read it. CA certificates with other keys (EC)
  // cannot be read by forge: they are left out of the keystore (the PEM file still has them).
  const certs = [
    forge.pki.certificateFromPem(leaf ?? ''),
    ...chain.flatMap((pem) => {
      try {
        return [forge.pki.certificateFromPem(pem)];
      } catch {
        return [];
      }
    }),
  ];
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, password, {
    algorithm: 'aes256',
    friendlyName,
  });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** Splits a PEM bundle into its certificates. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
