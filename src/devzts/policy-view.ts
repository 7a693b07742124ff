// The policy as the handlers query it: one index per concern, rebuilt together whenever the
// policy is swapped so a request never sees half of an old policy and half of a new one.

import { DomainIndex } from './domains.js';
import type { DevZtsPolicy } from './policy.js';
import { PublicKeyIndex } from './principal-authority.js';
import { ProviderIndex } from './providers.js';

/** `athenz.zts.cert_dns_suffix` when neither the start option nor the policy sets one. */
export const DEFAULT_CERT_DNS_SUFFIX = 'athenz.cloud';

export interface PolicyView {
  domains: DomainIndex;
  providers: ProviderIndex;
  publicKeys: PublicKeyIndex;
  /** Suffixes a role CSR's SAN email must end with (ZTSUtils.ZTS_CERT_DNS_SUFFIX). */
  certDnsSuffixes: readonly string[];
}

/** Indexes a validated policy; `certDnsSuffix` (the start option) beats the policy's own. */
export function viewPolicy(policy: DevZtsPolicy, certDnsSuffix?: string): PolicyView {
  const suffixes = certDnsSuffix ?? policy.certDnsSuffix ?? DEFAULT_CERT_DNS_SUFFIX;
  return {
    domains: new DomainIndex(policy),
    providers: new ProviderIndex(policy),
    publicKeys: new PublicKeyIndex(policy),
    certDnsSuffixes: suffixes
      .split(',')
      .map((suffix) => suffix.trim().toLowerCase())
      .filter((suffix) => suffix !== ''),
  };
}
