// How long an issued cert lives, in ms. Requests speak minutes; policy caps may be finer (any
// duration, for tests), so everything is computed in ms and never rounded up.
//
// Role certs (ZTSImpl.determineRoleCertTimeout): the policy cap (smallest role certExpiry, else
// the domain's), which a positive request can only shorten.
// Service certs (ZTSImpl.getServiceCertRequestExpiryTime): the provider's cap, which a request of
// 0 or more minutes replaces when smaller; a request of exactly 0 therefore means "the signer
// default" even under a provider cap, as upstream has it. The domain's serviceCertExpiry then
// caps the result.
// Both: 0 means "the signer decides", which is its max (athenz.zts.certsign_max_expiry_time),
// and nothing outlives that max.

const MINUTE_MS = 60_000;

/** `athenz.zts.certsign_max_expiry_time`: 43200 minutes (30 d). */
export const SIGNER_MAX_EXPIRY_MINS = 43_200;
export const SIGNER_MAX_EXPIRY_MS = SIGNER_MAX_EXPIRY_MINS * MINUTE_MS;

export function roleCertLifetimeMs(capMs: number, requestedMins: number): number {
  const requestedMs = requestedMins * MINUTE_MS;
  const lifetime = requestedMins > 0 && (capMs === 0 || requestedMs < capMs) ? requestedMs : capMs;
  return signerLifetime(lifetime);
}

export function serviceCertLifetimeMs(
  providerCapMs: number,
  requestedMins: number | undefined,
  domainCapMs: number,
): number {
  let lifetime: number;
  if (requestedMins === undefined || requestedMins < 0) {
    lifetime = providerCapMs;
  } else if (providerCapMs === 0) {
    lifetime = requestedMins * MINUTE_MS;
  } else {
    lifetime = Math.min(requestedMins * MINUTE_MS, providerCapMs);
  }
  if (domainCapMs > 0 && (lifetime === 0 || lifetime > domainCapMs)) {
    lifetime = domainCapMs;
  }
  return signerLifetime(lifetime);
}

function signerLifetime(lifetimeMs: number): number {
  return lifetimeMs <= 0 || lifetimeMs > SIGNER_MAX_EXPIRY_MS ? SIGNER_MAX_EXPIRY_MS : lifetimeMs;
}
