// POST /instance (ZTSImpl.postInstanceRegisterInformation): a workload trades attestation data
// and a CSR for its service identity cert. No credentials needed (the endpoint is in ZTS's
// no_auth_uri_list); the checks run in upstream's order: domain (404), launch authorization
// (403), CSR (400), provider confirmation (403). Answers 201 with a Location for later refreshes.

import type { RequestContext } from './context.js';
import { ZtsHttpError, badRequest } from './http.js';
import type { Reply } from './http.js';
import { issueIdentity, parseServiceCsr } from './instance-identity.js';
import { readInstanceRegisterInformation } from './json-body.js';
import { checkWithProvider } from './provider-check.js';
import { checkServiceCsr } from './service-csr.js';

export async function postInstanceRegister(ctx: RequestContext): Promise<Reply> {
  const info = readInstanceRegisterInformation(await ctx.body());
  const providerName = info.provider.toLowerCase();
  const domain = info.domain.toLowerCase();
  const service = info.service.toLowerCase();
  ctx.note.domain = domain;
  if (info.expiryTime !== undefined) {
    ctx.note.requestedExpiryMins = info.expiryTime;
  }

  const { domains, providers, instances } = ctx.runtime;
  if (!domains.hasDomain(domain)) {
    throw new ZtsHttpError(404, `Domain not found: ${domain}`);
  }
  const provider = providers.authorizeLaunch(providerName, domain, service);

  const csr = await parseServiceCsr(info.csr, true);
  const checked = checkServiceCsr(csr, {
    domain,
    service,
    provider,
    hostname: info.hostname,
    hostCnames: info.hostCnames,
    namespace: info.namespace,
    fallbackInstanceId: info.x509CertInstanceId,
  });
  if ('problem' in checked) {
    throw badRequest(`CSR validation failed - ${checked.problem}`);
  }
  const { instanceId } = checked;
  ctx.note.instanceId = instanceId;
  checkWithProvider(ctx, provider, 'confirm', info.attestationData, csr, info.hostname);

  const { identity, serial } = await issueIdentity(ctx, {
    provider,
    domain,
    service,
    instanceId,
    csr,
    requestedMins: info.expiryTime,
  });
  // A repeated register (e.g. a workload restored from a backup) starts a fresh record.
  instances.put({ provider: providerName, domain, service, instanceId, currentSerial: serial });
  return {
    status: 201,
    body: identity,
    headers: { Location: `/zts/v1/instance/${providerName}/${domain}/${service}/${instanceId}` },
  };
}
