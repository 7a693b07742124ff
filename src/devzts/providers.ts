// Instance providers as the instance endpoints query them. Each policy provider stands in for two
// things a real ZTS consults: the ZMS launch authorization (InstanceCertManager.authorizeLaunch)
// and the provider service itself (confirmInstance / refreshInstance), here reduced to a list of
// accepted attestation values, a refresh switch, a cert lifetime cap and a DNS suffix.

import { parseDuration } from '../util/duration.js';
import { ZtsHttpError } from './http.js';
import type { DevZtsPolicy } from './policy.js';

export interface Provider {
  readonly name: string;
  readonly attestation: ReadonlySet<string>;
  readonly refresh: boolean;
  /** The provider's ZTS_CERT_EXPIRY_TIME in ms; 0 when it sets none. */
  readonly certExpiryMs: number;
  /** Lower-case, without a leading dot. */
  readonly dnsSuffix: string;
  readonly services: ReadonlySet<string>;
}

export class ProviderIndex {
  readonly #providers: ReadonlyMap<string, Provider>;

  constructor(policy: DevZtsPolicy) {
    const providers = new Map<string, Provider>();
    for (const [name, provider] of Object.entries(policy.providers ?? {})) {
      providers.set(name, {
        name,
        attestation: new Set(provider.attestation),
        refresh: provider.refresh,
        certExpiryMs:
          provider.certExpiry === undefined ? 0 : (parseDuration(provider.certExpiry) ?? 0),
        dnsSuffix: provider.dnsSuffix.replace(/^\./, ''),
        services: new Set(provider.services),
      });
    }
    this.#providers = providers;
  }

  get(name: string): Provider | undefined {
    return this.#providers.get(name);
  }

  /**
   * InstanceCertManager.authorizeLaunch: the error text when the provider may not launch
   * `<domain>.<service>`, undefined when it may. An unknown provider is one that ZMS never
   * authorized to launch instances at all.
   */
  /** The provider, when it may launch `<domain>.<service>`; throws ZTS's 403 otherwise. */
  authorizeLaunch(name: string, domain: string, service: string): Provider {
    const refusal = this.launchRefusal(name, domain, service);
    const provider = this.#providers.get(name);
    if (refusal !== undefined || provider === undefined) {
      throw new ZtsHttpError(403, refusal ?? `provider '${name}' unknown`);
    }
    return provider;
  }

  launchRefusal(name: string, domain: string, service: string): string | undefined {
    const provider = this.#providers.get(name);
    if (provider === undefined) {
      return `provider '${name}' not authorized to launch instances in Athenz`;
    }
    if (!provider.services.has(`${domain}.${service}`)) {
      return `provider '${name}' not authorized to launch ${domain}.${service} instances`;
    }
    return undefined;
  }
}
