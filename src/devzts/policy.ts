// The dev ZTS policy: which principals get an identity, which domains and roles exist, who is a
// member of each role, how long tokens and certs for them may live, which N-token keys and which
// instance providers exist. It stands in for the ZMS data a real ZTS serves from.
//
// YAML format (every key is checked; unknown keys are errors):
//
//   # principals whose client identity cert/key the dev ZTS creates in its state folder
//   services: [demo.agent]
//   # athenz.zts.cert_dns_suffix: comma-separated suffixes a role CSR's SAN email must end with
//   # (optional, default athenz.cloud; the start option certDnsSuffix beats it)
//   certDnsSuffix: athenz.cloud
//   # N-token verification: the ZMS public keys of each principal, by key id (the token's `k`).
//   # PEM text, or a file path resolved against the policy file's folder (files only when the
//   # policy is loaded from a file)
//   publicKeys:
//     demo.agent: { "0": "-----BEGIN PUBLIC KEY-----..." }
//   # instance providers, stand-ins for provider services such as sys.auth.k8s
//   providers:
//     sys.auth.k8s:
//       attestation: [attest-token-1]  # attestationData values it accepts (exact match)
//       refresh: true                  # optional, default true; false refuses every refresh (403)
//       certExpiry: 7d                 # optional: the provider's maximum service cert lifetime
//       dnsSuffix: athenz.cloud        # the SAN DNS suffix authorized for this provider
//       services: [sports.api]         # principals it may launch (the ZMS launch authorization)
//   domains:
//     sports:
//       tokenExpiry: 2h        # optional cap, like the domain's tokenExpiryMins (any duration,
//                              # sub-minute allowed for tests; 0 means no cap)
//       certExpiry: 1h         # optional cap on role certs, like roleCertExpiryMins
//       serviceCertExpiry: 1d  # optional cap on service certs, like serviceCertExpiryMins
//       roles:
//         reader:
//           members: [demo.agent]
//           tokenExpiry: 5m    # optional cap, like the role's tokenExpiryMins; beats the domain's
//           certExpiry: 10m    # optional cap, like the role's certExpiryMins; beats the domain's
//         writer:
//           members: [demo.agent, other.svc]
//
// Names follow the Athenz grammar and are lower-cased, as ZMS stores them. Principals are
// `<domain>.<service>`.

import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { COMPOUND_NAME, isDomainName } from '../athenz/names.js';
import { ConfigError, describeCause } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { resolvePublicKeyFiles } from './policy-files.js';

const principalName = z
  .string()
  .refine(isPrincipalName, { error: (issue) => `${show(issue.input)} is not a principal name` })
  .transform((name) => name.toLowerCase());

const duration = z.string().refine((text) => parseDuration(text) !== undefined, {
  error: (issue) => `${show(issue.input)} is not a duration (e.g. 30s, 5m, 2h)`,
});

/** A DNS suffix such as `athenz.cloud` (a leading dot is allowed, as upstream configs use). */
const DNS_SUFFIX = /^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

const dnsSuffix = z
  .string()
  .refine((text) => DNS_SUFFIX.test(text), {
    error: (issue) => `${show(issue.input)} is not a DNS suffix (e.g. athenz.cloud)`,
  })
  .transform((text) => text.toLowerCase());

/** Comma-separated, like `athenz.zts.cert_dns_suffix`. */
const dnsSuffixList = z
  .string()
  .refine((text) => text.split(',').every((item) => DNS_SUFFIX.test(item.trim())), {
    error: (issue) => `${show(issue.input)} is not a comma-separated list of DNS suffixes`,
  })
  .transform((text) => text.toLowerCase());

/** SPKI or PKCS#1 PEM that node can load; stored as text so the policy stays plain data. */
const publicKeyPem = z.string().refine(isPublicKeyPem, {
  error: (issue) =>
    `${show(issue.input)} is not a PEM public key (file paths are read only when the policy ` +
    'is loaded from a file)',
});

const KEY_ID = /^[a-zA-Z0-9._-]+$/;

const roleSchema = z.strictObject({
  members: z.array(principalName),
  tokenExpiry: duration.optional(),
  certExpiry: duration.optional(),
});

const domainSchema = z.strictObject({
  tokenExpiry: duration.optional(),
  certExpiry: duration.optional(),
  serviceCertExpiry: duration.optional(),
  roles: nameMap(roleSchema, 'role', (name) => COMPOUND_NAME.test(name)).default({}),
});

const providerSchema = z.strictObject({
  attestation: z.array(z.string().min(1)),
  refresh: z.boolean().default(true),
  certExpiry: duration.optional(),
  dnsSuffix,
  services: z.array(principalName).default([]),
});

const policySchema = z.strictObject({
  services: z.array(principalName).default([]),
  certDnsSuffix: dnsSuffixList.optional(),
  publicKeys: nameMap(
    z.record(
      z.string().refine((id) => KEY_ID.test(id), {
        error: (issue) => `${show(issue.input)} is not a key id`,
      }),
      publicKeyPem,
    ),
    'principal',
    isPrincipalName,
  ).optional(),
  providers: nameMap(providerSchema, 'provider', isPrincipalName).optional(),
  domains: nameMap(domainSchema, 'domain', isDomainName),
});

/** A validated policy: names lower-cased, durations checked (still as text). */
export type DevZtsPolicy = z.output<typeof policySchema>;

/** Reads and validates a policy YAML file; errors name the key path, the value and the rule. */
export async function loadDevZtsPolicy(file: string): Promise<DevZtsPolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError('CONFIG_READ', [`${file}: ${describeCause(error)}`], { cause: error });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', [`${file}: not valid YAML: ${describeCause(error)}`]);
  }
  return parseDevZtsPolicy(await resolvePublicKeyFiles(raw, file), file);
}

/** Validates a policy object (from YAML or built in code); idempotent on its own output. */
export function parseDevZtsPolicy(raw: unknown, source = 'policy'): DevZtsPolicy {
  const result = policySchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(
      'CONFIG_INVALID',
      result.error.issues.map((issue) => `${source}: ${describeIssue(issue)}`),
    );
  }
  return result.data;
}

/** A principal is `<domain>.<service>`: a compound name with at least one dot. */
export function isPrincipalName(name: string): boolean {
  return COMPOUND_NAME.test(name) && name.includes('.');
}

function isPublicKeyPem(text: string): boolean {
  if (!text.includes('-----BEGIN')) {
    return false;
  }
  try {
    createPublicKey(text);
    return true;
  } catch {
    return false;
  }
}

/** A map keyed by Athenz names: keys are checked, lower-cased and must stay unique after that. */
function nameMap<T extends z.ZodType>(value: T, kind: string, isValid: (name: string) => boolean) {
  const key = z.string().refine(isValid, {
    error: (issue) => `${show(issue.input)} is not a valid ${kind} name`,
  });
  return z.record(key, value).transform((map, ctx) => {
    const entries = new Map<string, z.output<T>>();
    for (const [name, entry] of Object.entries(map)) {
      const lower = name.toLowerCase();
      if (entries.has(lower)) {
        ctx.issues.push({
          code: 'custom',
          message: `${show(name)} duplicates ${kind} ${show(lower)} (names are case-insensitive)`,
          path: [name],
          input: name,
        });
      } else {
        entries.set(lower, entry);
      }
    }
    // fromEntries defines own properties: no key can ever reach the prototype.
    return Object.fromEntries(entries);
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length === 0 ? '(top level)' : issue.path.map(String).join('.');
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${path}: unknown key ${issue.keys.map(show).join(', ')}`;
    case 'invalid_key':
      return `${path}: ${issue.issues.map((inner) => inner.message).join('; ')}`;
    case 'invalid_type':
      return issue.input === undefined
        ? `${path}: missing (expected ${issue.expected})`
        : `${path}: expected ${issue.expected}, got ${show(issue.input)}`;
    default:
      return `${path}: ${issue.message}`;
  }
}

function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
