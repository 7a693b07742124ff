// The service identity certificate, for `identity.source: register`. The first fetch registers
// the instance (POST /instance, proven by the attestation data, no client certificate); later
// ones refresh it over mTLS with the current certificate (POST /instance/{p}/{d}/{s}/{id}). When
// the provider refuses a refresh (403, as the OSS K8s provider always does) or the certificate
// is no longer accepted (401), the instance registers again. Writes key, cert (leaf + signer
// chain, as k8s-athenz-sia does) and CA files.

import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { commonNameOf, instanceIdOf } from '../athenz/cert-names.js';
import type { InstanceSpec } from '../config/types.js';
import { AgentError, ZtsError, describeCause } from '../errors.js';
import type { FileToWrite } from '../output/atomic-write.js';
import type { InstanceIdentityResponse } from '../zts/wire.js';
import type { Credential, CredentialContext } from './credential.js';
import { buildCsr, domainToDns } from './csr.js';
import { checkIssuedCert, normalisePem } from './issued-cert.js';
import { readIfPresent, restoredCredential } from './issued.js';
import { KeyHolder } from './key-holder.js';
import { publicKeyDer } from './keys.js';

export function instanceCredential(spec: InstanceSpec, context: CredentialContext): Credential {
  const keys = new KeyHolder(spec.keyFile, spec.keyType, context.logger);

  return {
    spec,
    async fetch(signal) {
      const { key, pem: keyPem } = await keys.get();
      const csr = await buildCsr(key, serviceCsrContent(spec));
      const request = {
        provider: spec.provider,
        domain: spec.domain,
        service: spec.service,
        csr,
        expiryMins: spec.expiryMins,
      };

      const requestedAt = Date.now();
      let answer: InstanceIdentityResponse | undefined;
      let action = 'refresh';
      if (await canRefresh(spec, context)) {
        try {
          answer = await context.zts.refreshInstance(
            { ...request, instanceId: spec.instanceId },
            signal,
          );
        } catch (error) {
          // 403: the provider refuses refresh; 401: the certificate is no longer accepted; 400:
          // it no longer fits (another instance id, say). A new registration can help.
          if (!(error instanceof ZtsError && [400, 401, 403].includes(error.status ?? 0))) {
            throw error;
          }
          context.logger.info(
            { credential: spec.name, status: error.status, code: error.code },
            'instance refresh refused; registering again',
          );
        }
      }
      if (answer === undefined) {
        action = 'register';
        const attestationData = await readAttestation(spec.attestationFile);
        answer = await context.zts.registerInstance({ ...request, attestationData }, signal);
      }

      const what = action === 'register' ? 'POST /instance' : `POST /instance/${spec.provider}/…`;
      // ZTS may leave the signer out (athenz.zts.resp_x509_signer_certs=false). The bundle is
      // then fetched with the certificate just issued: the identity on disk may not exist yet.
      const signer = normalisePem(
        answer.x509CertificateSigner ??
          (await context.zts.caBundle('default', signal, {
            cert: answer.x509Certificate,
            key: keyPem,
          })),
      );
      const cert = checkIssuedCert(answer.x509Certificate, {
        commonName: spec.principal,
        key,
        what,
        issuers: signer,
      });
      return {
        files: outputs(spec, keyPem, cert.pem + signer, signer),
        expiresAt: cert.notAfter,
        issuedAt: requestedAt,
        lifetimeMs: cert.notAfter - requestedAt,
        details: { serial: cert.serial, action },
      };
    },
    async restore() {
      const [certPem, keyPem, caPem] = await Promise.all(
        [spec.file, spec.keyFile, spec.caCertFile].map((path) => readIfPresent(path)),
      );
      if (certPem === undefined || keyPem === undefined || caPem === undefined) {
        return undefined;
      }
      try {
        const { key } = await keys.get();
        const cert = new X509Certificate(certPem);
        if (
          !cert.publicKey.export({ type: 'spki', format: 'der' }).equals(publicKeyDer(key)) ||
          commonNameOf(cert) !== spec.principal ||
          instanceIdOf(cert) !== spec.instanceId
        ) {
          return undefined;
        }
        const files = outputs(spec, keyPem.toString(), certPem.toString(), caPem.toString());
        return await restoredCredential(files, Date.parse(cert.validTo), {
          serial: cert.serialNumber,
        });
      } catch {
        return undefined;
      }
    },
  };
}

/** Service CSR conventions (zts-api.md §4; libs/go/sia GenerateSvcCertCSR). */
function serviceCsrContent(spec: InstanceSpec) {
  const host = `${spec.service}.${domainToDns(spec.domain)}.${spec.dnsSuffix}`;
  return {
    commonName: spec.principal,
    organizationalUnit: spec.provider,
    dns: [host, `*.${host}`, `${spec.instanceId}.instanceid.athenz.${spec.dnsSuffix}`],
    uris: [
      `spiffe://${spec.domain}/sa/${spec.service}`,
      `athenz://instanceid/${spec.provider}/${spec.instanceId}`,
    ],
  };
}

/** Refresh needs a current, unexpired certificate for this very principal and instance. */
async function canRefresh(spec: InstanceSpec, context: CredentialContext): Promise<boolean> {
  const files = context.fileIdentity;
  if (files === undefined) {
    return false;
  }
  try {
    await files.dispatcher();
  } catch {
    return false;
  }
  const current = files.current;
  return (
    current !== undefined &&
    current.principal === spec.principal &&
    current.instanceId === spec.instanceId &&
    current.notAfter.getTime() > Date.now()
  );
}

async function readAttestation(path: string): Promise<string> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (text === '') {
      throw new Error('the file is empty');
    }
    return text;
  } catch (error) {
    throw new AgentError(
      'INPUT_UNAVAILABLE',
      `cannot read the attestation data ${path}: ${describeCause(error)}`,
      {
        cause: error,
        retryable: true,
      },
    );
  }
}

function outputs(
  spec: InstanceSpec,
  keyPem: string,
  certPem: string,
  caPem: string,
): FileToWrite[] {
  return [
    { path: spec.keyFile, content: Buffer.from(keyPem), mode: spec.keyMode, groupId: spec.groupId },
    { path: spec.file, content: Buffer.from(certPem), mode: spec.mode, groupId: spec.groupId },
    { path: spec.caCertFile, content: Buffer.from(caPem), mode: spec.mode, groupId: spec.groupId },
  ];
}
