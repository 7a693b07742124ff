// The dev ZTS policy: which principals get an identity, which domains and roles exist, who is a
// member of each role and how long tokens for them may live. It stands in for the ZMS data a real
// ZTS serves from.
//
// YAML format (every key is checked; unknown keys are errors):
//
//   # principals whose client identity cert/key the dev ZTS creates in its state folder
//   services: [demo.agent]
//   domains:
//     sports:
//       tokenExpiry: 2h        # optional cap, like the domain's tokenExpiryMins (any duration,
//                              # sub-minute allowed for tests; 0 means no cap)
//       roles:
//         reader:
//           members: [demo.agent]
//           tokenExpiry: 5m    # optional cap, like the role's tokenExpiryMins; beats the domain's
//         writer:
//           members: [demo.agent, other.svc]
//
// Names follow the Athenz grammar and are lower-cased, as ZMS stores them. Principals are
// `<domain>.<service>`.

import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { COMPOUND_NAME, isDomainName } from '../athenz/names.js';
import { ConfigError, describeCause } from '../errors.js';
import { parseDuration } from '../util/duration.js';

const principalName = z
  .string()
  .refine(isPrincipalName, { error: (issue) => `${show(issue.input)} is not a principal name` })
  .transform((name) => name.toLowerCase());

const duration = z.string().refine((text) => parseDuration(text) !== undefined, {
  error: (issue) => `${show(issue.input)} is not a duration (e.g. 30s, 5m, 2h)`,
});

const roleSchema = z.strictObject({
  members: z.array(principalName),
  tokenExpiry: duration.optional(),
});

const domainSchema = z.strictObject({
  tokenExpiry: duration.optional(),
  roles: nameMap(roleSchema, 'role', (name) => COMPOUND_NAME.test(name)).default({}),
});

const policySchema = z.strictObject({
  services: z.array(principalName).default([]),
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
    throw new ConfigError('CONFIG_READ', [`${file}: ${describeCause(error)}`], error);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', [`${file}: not valid YAML: ${describeCause(error)}`]);
  }
  return parseDevZtsPolicy(raw, file);
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
