// Role certificates: a CSR for `<domain>:role.<role>` signed with the entry's own key, POST
// /rolecert with the lifetime in minutes, the issued certificate checked, then key, certificate
// (plus an optional CA bundle) and an optional PKCS#12 keystore written in that order.

import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';

import { commonNameOf } from '../athenz/cert-names.js';
import type { RoleCertSpec } from '../config/types.js';
import { AgentError, IdentityError, describeCause } from '../errors.js';
import type { FileToWrite } from '../output/atomic-write.js';
import type { Credential, CredentialContext } from './credential.js';
import { buildCsr, domainToDns } from './csr.js';
import { checkIssuedCert, normalisePem } from './issued-cert.js';
import { readIfPresent, restoredCredential } from './issued.js';
import { KeyHolder } from './key-holder.js';
import { publicKeyDer } from './keys.js';
import { buildPkcs12, splitPemBundle } from './pkcs12.js';

export function roleCertCredential(spec: RoleCertSpec, context: CredentialContext): Credential {
  const keys = new KeyHolder(spec.keyFile, spec.keyType, context.logger);
  const commonName = `${spec.domain}:role.${spec.role}`;
  const what = 'POST /rolecert';

  return {
    spec,
    async fetch(signal) {
      const principal = await principalOf(context);
      // Everything that can fail without ZTS goes first, so a missing password file does not
      // cost ZTS a certificate on every retry.
      const password =
        spec.pkcs12 === undefined ? undefined : await readPassword(spec.pkcs12.passwordFile);
      const { key, pem: keyPem } = await keys.get();
      const csr = await buildCsr(key, roleCsrContent(spec, principal));

      const requestedAt = Date.now();
      const response = await context.zts.roleCertificate(
        { csr, expiryMins: spec.expiryMins },
        signal,
      );
      const bundle =
        spec.appendCaBundle === undefined
          ? undefined
          : normalisePem(await context.zts.caBundle(spec.appendCaBundle, signal));
      const cert = checkIssuedCert(response.x509Certificate, {
        commonName,
        key,
        what,
        ...(bundle === undefined ? {} : { issuers: bundle }),
      });
      const certPem = cert.pem + (bundle ?? '');
      const files = pemOutputs(spec, keyPem, certPem);
      if (spec.pkcs12 !== undefined && password !== undefined) {
        files.push(
          keystoreOutput(spec, buildPkcs12(keyPem, splitPemBundle(certPem), password, commonName)),
        );
      }
      return {
        files,
        expiresAt: cert.notAfter,
        issuedAt: requestedAt,
        // From notAfter, not notBefore: ZTS backdates certificates by an hour.
        lifetimeMs: cert.notAfter - requestedAt,
        details: { serial: cert.serial },
      };
    },
    async restore() {
      const [certPem, keyPem, keystore] = await Promise.all([
        readIfPresent(spec.file),
        readIfPresent(spec.keyFile),
        spec.pkcs12 === undefined ? Buffer.alloc(0) : readIfPresent(spec.pkcs12.file),
      ]);
      if (certPem === undefined || keyPem === undefined || keystore === undefined) {
        return undefined;
      }
      try {
        const { key } = await keys.get();
        const cert = new X509Certificate(certPem);
        const matches = cert.publicKey
          .export({ type: 'spki', format: 'der' })
          .equals(publicKeyDer(key));
        if (!matches || commonNameOf(cert) !== commonName) {
          return undefined;
        }
        // The keystore is adopted as it is: building it again would give new bytes (a new
        // random salt), and so a needless rewrite.
        const files = pemOutputs(spec, keyPem.toString('utf8'), certPem.toString('utf8'));
        if (spec.pkcs12 !== undefined) {
          files.push(keystoreOutput(spec, keystore));
        }
        return await restoredCredential(files, Date.parse(cert.validTo), {
          serial: cert.serialNumber,
        });
      } catch {
        return undefined;
      }
    },
  };
}

/** CSR content per the ZTS role certificate rules (zts-api.md §3). */
function roleCsrContent(spec: RoleCertSpec, principal: string) {
  const dot = principal.lastIndexOf('.');
  const principalDomain = principal.slice(0, dot);
  const service = principal.slice(dot + 1);
  return {
    commonName: `${spec.domain}:role.${spec.role}`,
    dns: [`${service}.${domainToDns(principalDomain)}.${spec.dnsSuffix}`],
    uris: [`spiffe://${spec.domain}/ra/${spec.role}`, `athenz://principal/${principal}`],
    emails: [`${principal}@${spec.dnsSuffix}`],
  };
}

async function principalOf(context: CredentialContext): Promise<string> {
  // Loading the connection loads the identity; its principal goes into the CSR.
  await context.identity.connection();
  const principal = context.identity.principal();
  if (principal === undefined || !principal.includes('.')) {
    throw new IdentityError(
      `the identity's principal ${JSON.stringify(principal)} is not <domain>.<service>`,
    );
  }
  return principal;
}

function pemOutputs(spec: RoleCertSpec, keyPem: string, certPem: string): FileToWrite[] {
  return [
    { path: spec.keyFile, content: Buffer.from(keyPem), mode: spec.keyMode, groupId: spec.groupId },
    { path: spec.file, content: Buffer.from(certPem), mode: spec.mode, groupId: spec.groupId },
  ];
}

function keystoreOutput(spec: RoleCertSpec, content: Buffer): FileToWrite {
  return { path: spec.pkcs12?.file ?? '', content, mode: spec.keyMode, groupId: spec.groupId };
}

async function readPassword(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    throw new AgentError(
      'INPUT_UNAVAILABLE',
      `cannot read the PKCS#12 password file ${path}: ${describeCause(error)}`,
      {
        cause: error,
        retryable: true,
      },
    );
  }
}
