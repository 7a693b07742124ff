// POST /instance/{provider}/{domain}/{service}/{instanceId} (ZTSImpl.postInstanceRefreshInformation)
// and DELETE on the same path (deleteInstanceIdentity).
//
// Refresh needs mTLS with the instance's current cert: the principal must be `<domain>.<service>`
// (400 "Principal mismatch"), any other authority gets 400, the instance id must be the same in
// the path, the CSR and the cert (400), the provider must agree (403), and the instance must be
// registered with this cert or the one before it (else 403, and an older cert revokes the record).

import { requireCaller, requireServiceIdentity } from './context.js';
import type { RequestContext } from './context.js';
import { ZtsHttpError, badRequest } from './http.js';
import type { Reply } from './http.js';
import { issueIdentity, parseServiceCsr } from './instance-identity.js';
import { REVOKED_SERIAL } from './instance-store.js';
import type { InstanceRecord } from './instance-store.js';
import { readInstanceRefreshInformation } from './json-body.js';
import { checkWithProvider } from './provider-check.js';
import { certSans, instanceIdOf } from './san.js';
import { checkServiceCsr } from './service-csr.js';
import { validate } from './validate.js';

/** What Java's Object.toString shows for the authority in upstream's message. */
const PRINCIPAL_AUTHORITY_CLASS = 'com.yahoo.athenz.auth.impl.PrincipalAuthority';

interface InstancePath {
  provider: string;
  domain: string;
  service: string;
  instanceId: string;
}

export async function postInstanceRefresh(ctx: RequestContext): Promise<Reply> {
  const path = instancePath(ctx);
  const info = readInstanceRefreshInformation(await ctx.body());
  if (info.expiryTime !== undefined) {
    ctx.note.requestedExpiryMins = info.expiryTime;
  }
  const { domain, service, instanceId } = path;
  const { domains, providers, instances } = ctx.runtime;
  if (!domains.hasDomain(domain)) {
    throw new ZtsHttpError(404, `Domain not found: ${domain}`);
  }
  if (info.csr === undefined || info.csr === '') {
    throw badRequest('no csr provided');
  }

  const caller = requireCaller(ctx);
  const principalName = `${domain}.${service}`;
  if (caller.principal !== principalName) {
    throw badRequest(`Principal mismatch: ${principalName} vs. ${caller.principal}`);
  }
  const cert = caller.cert;
  if (caller.authority !== 'cert' || cert === undefined) {
    throw badRequest(`Unsupported authority for TLS Certs: ${PRINCIPAL_AUTHORITY_CLASS}`);
  }
  const provider = providers.authorizeLaunch(path.provider, domain, service);

  const csr = await parseServiceCsr(info.csr, false);
  const checked = checkServiceCsr(csr, {
    domain,
    service,
    provider,
    hostname: info.hostname,
    hostCnames: info.hostCnames,
    namespace: info.namespace,
  });
  if ('problem' in checked) {
    throw badRequest(`CSR validation failed - ${checked.problem}`);
  }
  const certInstanceId = instanceIdOf(certSans(cert.raw));
  if (checked.instanceId !== instanceId || certInstanceId !== instanceId) {
    ctx.note.detail = `csr: ${checked.instanceId}, uri: ${instanceId}, cert: ${certInstanceId ?? 'none'}`;
    throw badRequest('CSR validation failed - instance id mismatch');
  }
  checkWithProvider(ctx, provider, 'refresh', info.attestationData, csr, info.hostname);

  const record = instances.get(path.provider, domain, service, instanceId);
  if (record === undefined) {
    throw new ZtsHttpError(403, 'Unable to find certificate record');
  }
  checkSerial(record, cert.serialNumber.toLowerCase());

  const issued = await issueIdentity(ctx, {
    provider,
    domain,
    service,
    instanceId,
    csr,
    requestedMins: info.expiryTime,
  });
  record.currentSerial = issued.serial;
  return { status: 200, body: issued.identity };
}

export function deleteInstance(ctx: RequestContext): Reply {
  const path = instancePath(ctx);
  const { principal } = requireServiceIdentity(ctx);
  // Upstream allows the provider itself or whoever may `delete` on `<domain>:instance.<id>`; the
  // dev ZTS has no such policy and lets the instance's own service stand in for it.
  const { provider, domain, service, instanceId } = path;
  if (principal !== provider && principal !== `${domain}.${service}`) {
    throw new ZtsHttpError(403, 'principal not authorized to delete the requested instance record');
  }
  ctx.runtime.instances.delete(provider, domain, service, instanceId);
  return { status: 204, body: undefined };
}

function instancePath(ctx: RequestContext): InstancePath {
  const { provider, domain, service, instanceId } = ctx.params;
  validate(provider, 'ServiceName');
  validate(domain, 'DomainName');
  validate(service, 'SimpleName');
  validate(instanceId, 'PathElement');
  ctx.note.domain = domain.toLowerCase();
  ctx.note.instanceId = instanceId;
  return {
    provider: provider.toLowerCase(),
    domain: domain.toLowerCase(),
    service: service.toLowerCase(),
    instanceId,
  };
}

/**
 * The cert must be the record's current one or the one before it (a retried refresh). Anything
 * older means two holders of the identity: the record is revoked, as upstream does.
 */
function checkSerial(record: InstanceRecord, serial: string): void {
  if (record.currentSerial === serial) {
    record.prevSerial = record.currentSerial;
    return;
  }
  if (record.prevSerial !== serial) {
    record.currentSerial = REVOKED_SERIAL;
    record.prevSerial = REVOKED_SERIAL;
    throw new ZtsHttpError(403, 'Certificate revoked');
  }
}
