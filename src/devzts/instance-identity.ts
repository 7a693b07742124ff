// The service identity cert that register and refresh both issue (InstanceCertManager
// generateIdentity): client and server usage, lifetime from the provider, the request and the
// domain, and the InstanceIdentity answer with the dev CA as x509CertificateSigner.

import { serviceCertLifetimeMs } from './cert-lifetime.js';
import type { RequestContext } from './context.js';
import { CsrError, parseCsr } from './csr.js';
import type { ParsedCsr } from './csr.js';
import { signCsr } from './csr-signer.js';
import { badRequest } from './http.js';
import { certTimes } from './issuance.js';
import type { Provider } from './providers.js';

export interface InstanceIdentity {
  provider: string;
  name: string;
  instanceId: string;
  x509Certificate: string;
  x509CertificateSigner: string;
}

export interface IssuedIdentity {
  identity: InstanceIdentity;
  /** Lower-case hex, as the instance store keeps it. */
  serial: string;
}

export interface IdentityRequest {
  provider: Provider;
  domain: string;
  service: string;
  instanceId: string;
  csr: ParsedCsr;
  requestedMins: number | undefined;
}

export async function issueIdentity(
  ctx: RequestContext,
  req: IdentityRequest,
): Promise<IssuedIdentity> {
  const { domains, state } = ctx.runtime;
  const lifetimeMs = serviceCertLifetimeMs(
    req.provider.certExpiryMs,
    req.requestedMins,
    domains.serviceCertCapMs(req.domain),
  );
  const times = certTimes(ctx.issuance, lifetimeMs);
  const cert = await signCsr(state.ca, req.csr, 'client+server', times.lifetimeMs, times.now);
  return {
    identity: {
      provider: req.provider.name,
      name: `${req.domain}.${req.service}`,
      instanceId: req.instanceId,
      x509Certificate: cert.toString('pem'),
      x509CertificateSigner: state.caPem,
    },
    serial: cert.serialNumber.toLowerCase(),
  };
}

/** Parses a CSR, turning a bad one into 400 with `message` (plus the reason when `detailed`). */
export async function parseServiceCsr(pem: string, detailed: boolean): Promise<ParsedCsr> {
  try {
    return await parseCsr(pem);
  } catch (error) {
    if (error instanceof CsrError) {
      throw badRequest(
        detailed ? `unable to parse PKCS10 CSR: ${error.message}` : 'unable to parse PKCS10 CSR',
      );
    }
    throw error;
  }
}
