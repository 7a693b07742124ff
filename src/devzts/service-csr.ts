// Service identity CSR rules (X509ServiceCertRequest.validate, X509CertRequest.validateDnsNames),
// in upstream's order; a failure becomes 400 "CSR validation failed - <reason>".
//
//   instance id  from the CSR (athenz://instanceid/ URI, then `.instanceid.athenz.` DNS name),
//                else the request's x509CertInstanceId; it must not be empty
//   CN           `<domain>.<service>`, case-insensitive; may be empty only with a SPIFFE URI
//   hostname     an athenz://hostname/ URI must equal the request's `hostname`
//   DNS          `<svc>.<domain-dashes>.<suffix>`, `*.<svc>.<domain-dashes>.<suffix>`,
//                `<instanceId>.instanceid.athenz.<suffix>` with the provider's suffix, or the
//                request's `hostname` (which must itself end with that suffix). Upstream checks only
//                the suffix and leaves the exact forms to the provider; the dev provider is strict.
//   SPIFFE       spiffe://<domain>/sa/<svc> or spiffe://athenz.io/ns/<ns>/sa/<domain>.<svc>, ns
//                from the request's `namespace` (default `default`)

import type { ParsedCsr } from './csr.js';
import type { Provider } from './providers.js';
import { SPIFFE_TRUST_DOMAIN } from './role-csr.js';
import { PATTERNS } from './validate.js';

export interface ServiceCsrRequest {
  domain: string;
  service: string;
  provider: Provider;
  hostname?: string | undefined;
  hostCnames?: readonly string[] | undefined;
  namespace?: string | undefined;
  /** InstanceRegisterInformation.x509CertInstanceId: used when the CSR carries no id. */
  fallbackInstanceId?: string | undefined;
}

export type ServiceCsrResult = { instanceId: string } | { problem: string };

export function checkServiceCsr(csr: ParsedCsr, req: ServiceCsrRequest): ServiceCsrResult {
  const instanceId = csr.instanceId ?? req.fallbackInstanceId ?? '';
  if (instanceId === '') {
    return { problem: 'InstanceId cannot be empty' };
  }
  // It ends up in a URL path and a Location header, so it must be a PathElement.
  if (!PATTERNS.PathElement.test(instanceId)) {
    return { problem: `InstanceId is not a valid PathElement: ${instanceId}` };
  }
  const cn = csr.cn ?? '';
  const emptyCnAllowed = cn === '' && csr.spiffeUri !== undefined;
  if (!emptyCnAllowed && cn.toLowerCase() !== `${req.domain}.${req.service}`) {
    return { problem: 'Unable to validate CSR common name' };
  }
  if (csr.uriHostname !== undefined && csr.uriHostname !== '' && csr.uriHostname !== req.hostname) {
    return {
      problem: `Instance/Uri hostname mismatch: ${req.hostname ?? 'null'} vs. ${csr.uriHostname}`,
    };
  }
  const dnsProblem = dnsNamesProblem(csr.dnsNames, req, instanceId);
  if (dnsProblem !== undefined) {
    return { problem: dnsProblem };
  }
  if (csr.spiffeUri !== undefined && !spiffeMatches(csr.spiffeUri, req)) {
    return { problem: 'Unable to validate Service SPIFFE URI' };
  }
  return { instanceId };
}

function dnsNamesProblem(
  dnsNames: readonly string[],
  req: ServiceCsrRequest,
  instanceId: string,
): string | undefined {
  if (dnsNames.length === 0) {
    return undefined;
  }
  const suffix = `.${req.provider.dnsSuffix}`;
  const hostname = req.hostname?.toLowerCase();
  if (hostname !== undefined && hostname !== '' && !hostname.endsWith(suffix)) {
    return `Unable to validate Instance hostname: ${req.hostname ?? ''}`;
  }
  // Host CNAMEs need a hostname resolver, which the dev ZTS (like a default ZTS) does not have.
  if (req.hostCnames !== undefined && req.hostCnames.length > 0) {
    return hostname === undefined || hostname === ''
      ? 'Instance Host CNAME list provided without Hostname'
      : 'Instance host name CNAME list provided without a valid hostname resolver';
  }

  const service = `${req.service}.${req.domain.replaceAll('.', '-')}${suffix}`;
  const allowed = new Set([
    service,
    `*.${service}`,
    `${instanceId}.instanceid.athenz${suffix}`.toLowerCase(),
  ]);
  for (const dnsName of dnsNames) {
    const name = dnsName.toLowerCase();
    if (allowed.has(name) || name === hostname) {
      continue;
    }
    return name.endsWith(suffix)
      ? `${dnsName} is not a service or instance name that ${req.provider.name} can attest`
      : `${dnsName} does not end with provider/service configured suffix or hostname`;
  }
  return undefined;
}

function spiffeMatches(uri: string, req: ServiceCsrRequest): boolean {
  const namespace = req.namespace === undefined || req.namespace === '' ? 'default' : req.namespace;
  const wanted = [
    `spiffe://${req.domain}/sa/${req.service}`,
    `spiffe://${SPIFFE_TRUST_DOMAIN}/ns/${namespace}/sa/${req.domain}.${req.service}`,
  ];
  return wanted.some((candidate) => candidate.toLowerCase() === uri.toLowerCase());
}
