// The policy as the token and cert endpoints query it, like the ZTS DataCache: which roles a
// principal holds in a domain, and the lifetime caps that the domain and role settings put on its
// tokens (tokenExpiryMins), role certs (certExpiryMins) and service certs (serviceCertExpiryMins).

import { parseDuration } from '../util/duration.js';
import type { DevZtsPolicy } from './policy.js';

interface RoleEntry {
  members: ReadonlySet<string>;
  capMs: number;
  certCapMs: number;
}

interface DomainEntry {
  roles: ReadonlyMap<string, RoleEntry>;
  capMs: number;
  certCapMs: number;
  serviceCertCapMs: number;
}

export class DomainIndex {
  readonly #domains: ReadonlyMap<string, DomainEntry>;

  constructor(policy: DevZtsPolicy) {
    const domains = new Map<string, DomainEntry>();
    for (const [domainName, domain] of Object.entries(policy.domains)) {
      const roles = new Map<string, RoleEntry>();
      for (const [roleName, role] of Object.entries(domain.roles)) {
        roles.set(roleName, {
          members: new Set(role.members),
          capMs: toMs(role.tokenExpiry),
          certCapMs: toMs(role.certExpiry),
        });
      }
      domains.set(domainName, {
        roles,
        capMs: toMs(domain.tokenExpiry),
        certCapMs: toMs(domain.certExpiry),
        serviceCertCapMs: toMs(domain.serviceCertExpiry),
      });
    }
    this.#domains = domains;
  }

  hasDomain(domain: string): boolean {
    return this.#domains.has(domain);
  }

  /**
   * Roles of the domain the principal is a member of, limited to `requested` when given
   * (DataStore.getAccessibleRoles). Sorted so tokens and logs are stable.
   */
  accessibleRoles(domain: string, principal: string, requested?: readonly string[]): string[] {
    const entry = this.#domains.get(domain);
    if (entry === undefined) {
      return [];
    }
    const wanted = requested === undefined ? undefined : new Set(requested);
    return [...entry.roles]
      .filter(([name, role]) => role.members.has(principal) && (wanted?.has(name) ?? true))
      .map(([name]) => name)
      .sort();
  }

  /**
   * The most a token for these roles may live, in seconds: the smallest role cap among them, or
   * else the domain cap (ZTSImpl getConfiguredTokenExpiryTimeMins). Undefined when neither is set.
   * Policy caps may be finer than a second; a cap never rounds up, and never drops below 1 s.
   */
  expiryCapSeconds(domain: string, roles: readonly string[]): number | undefined {
    const entry = this.#domains.get(domain);
    if (entry === undefined) {
      return undefined;
    }
    const capMs = smallestRoleCap(entry, roles, 'capMs') ?? entry.capMs;
    return capMs > 0 ? Math.max(1, Math.floor(capMs / 1000)) : undefined;
  }

  /**
   * The most a role cert for these roles may live, in ms: the smallest role certExpiry, or else
   * the domain's (ZTSImpl getConfiguredRoleCertExpiryTimeMins). 0 when neither is set.
   */
  roleCertCapMs(domain: string, roles: readonly string[]): number {
    const entry = this.#domains.get(domain);
    if (entry === undefined) {
      return 0;
    }
    return smallestRoleCap(entry, roles, 'certCapMs') ?? entry.certCapMs;
  }

  /** The domain's serviceCertExpiry in ms; 0 when not set. */
  serviceCertCapMs(domain: string): number {
    return this.#domains.get(domain)?.serviceCertCapMs ?? 0;
  }
}

function smallestRoleCap(
  entry: DomainEntry,
  roles: readonly string[],
  key: 'capMs' | 'certCapMs',
): number | undefined {
  const caps = roles.map((role) => entry.roles.get(role)?.[key] ?? 0).filter((capMs) => capMs > 0);
  return caps.length > 0 ? Math.min(...caps) : undefined;
}

function toMs(text: string | undefined): number {
  return text === undefined ? 0 : (parseDuration(text) ?? 0);
}
