// Zod field types shared by the config schema. Each one's message names the bad value and the
// rule; the key is added by the issue formatter, which knows the path.

import * as z from 'zod';

import { SIMPLE_NAME, isCompoundName, isDomainName } from '../athenz/names.js';
import { formatDuration, parseDuration } from '../util/duration.js';

const NAME_RULE = "letters, digits, '_' and '-' in dot-separated parts; no '/', ':' or '..'";

/** A value as the user wrote it (numbers as numbers, so Infinity is not shown as null). */
const show = (value: unknown): string =>
  typeof value === 'number' ? String(value) : JSON.stringify(value);

/** An Athenz domain name, lower-cased as ZTS stores it. */
export const domainName = z
  .string()
  .refine(isDomainName, {
    error: (issue) =>
      `${show(issue.input)} is not an Athenz domain name (${NAME_RULE}; at most 128 characters)`,
  })
  .transform((name) => name.toLowerCase());

/** An Athenz role name (EntityName), lower-cased. */
export const roleName = z
  .string()
  .refine(isCompoundName, {
    error: (issue) => `${show(issue.input)} is not an Athenz role name (${NAME_RULE})`,
  })
  .transform((name) => name.toLowerCase());

/** A non-empty list of distinct role names. */
export const roleList = z
  .array(roleName)
  .min(1, { error: 'must list at least one role; leave the key out to ask for the whole domain' })
  .refine((roles) => new Set(roles).size === roles.length, {
    error: (issue) => `${show(issue.input)} lists a role twice`,
  });

/** A readable duration such as `90m`, `1h30m` or `500ms`, in milliseconds. */
export function duration(options: { min?: number; max?: number } = {}) {
  const min = options.min ?? 0;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  return z.string({ error: durationMessage }).transform((text, context) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      context.addIssue({ code: 'custom', message: durationMessage({ input: text }), input: text });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      context.addIssue({
        code: 'custom',
        message:
          ms < min
            ? `${show(text)} is shorter than the minimum of ${formatDuration(min)}`
            : `${show(text)} is longer than the maximum of ${formatDuration(max)}`,
        input: text,
      });
      return z.NEVER;
    }
    return ms;
  });
}

function durationMessage(issue: { input: unknown }): string {
  return `${show(issue.input)} is not a duration (a number with a unit: ms, s, m, h or d, e.g. "90m" or "1h30m")`;
}

/**
 * A file mode as a quoted octal string. Bare numbers are refused because YAML 1.2 reads `0440`
 * as the decimal 440, which would silently give the wrong permissions.
 */
export const fileMode = z
  .string({
    error: (issue) =>
      `${show(issue.input)} is not a file mode: write it as a quoted octal string, e.g. "0440"`,
  })
  .transform((text, context) => {
    if (!/^0?[0-7]{3}$/.test(text)) {
      context.addIssue({
        code: 'custom',
        message: `${show(text)} is not an octal file mode such as "0440"`,
        input: text,
      });
      return z.NEVER;
    }
    const mode = Number.parseInt(text, 8);
    if ((mode & 0o400) === 0) {
      context.addIssue({
        code: 'custom',
        message: `${show(text)} must let the owner read the file (the agent compares before writing)`,
        input: text,
      });
      return z.NEVER;
    }
    if ((mode & 0o022) !== 0) {
      context.addIssue({
        code: 'custom',
        message: `${show(text)} must not let group or others write a credential file`,
        input: text,
      });
      return z.NEVER;
    }
    return mode;
  });

/**
 * A file name inside the output directory: one path segment, no leading dot (dot files are the
 * agent's temp files), nothing that could climb out of the directory.
 */
export const fileName = z
  .string()
  .refine(
    (name) =>
      /^[A-Za-z0-9_][A-Za-z0-9_.:,+=@-]*$/.test(name) &&
      !name.includes('..') &&
      name.length <= MAX_FILE_NAME,
    {
      error: (issue) =>
        `${show(issue.input)} is not a plain file name (one path segment of at most ${MAX_FILE_NAME} letters, digits and _ . : , + = @ -; not starting with '.' and without '..')`,
    },
  );

/** Leaves room for the temp file's prefix and suffix within the usual 255-byte name limit. */
export const MAX_FILE_NAME = 200;

/** A fraction strictly between 0 and 1. */
export const fraction = z
  .number({ error: (issue) => `${show(issue.input)} is not a number` })
  .refine((value) => value > 0 && value < 1, {
    error: (issue) => `${show(issue.input)} must be greater than 0 and less than 1`,
  });

/** A service name in the instance API (SimpleName: no dots), lower-cased. */
export const serviceName = z
  .string()
  .refine((name) => SIMPLE_NAME.test(name), {
    error: (issue) =>
      `${show(issue.input)} is not an Athenz service name (letters, digits, '_' and '-'; no dots)`,
  })
  .transform((name) => name.toLowerCase());

/** A provider service such as `sys.auth.k8s` (CompoundName), lower-cased. */
export const providerName = z
  .string()
  .refine(isCompoundName, {
    error: (issue) => `${show(issue.input)} is not an Athenz service name (${NAME_RULE})`,
  })
  .transform((name) => name.toLowerCase());

/** A DNS suffix such as `athenz.cloud`. */
export const dnsSuffix = z
  .string()
  .refine(
    (text) => /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(text),
    {
      error: (issue) => `${show(issue.input)} is not a DNS suffix such as "athenz.cloud"`,
    },
  )
  .transform((text) => text.toLowerCase());

/** The key type of a generated private key. */
export const keyType = z
  .enum(['ec', 'rsa'], {
    error: (issue) =>
      `${show(issue.input)} is not a key type (allowed: "ec" for P-256, "rsa" for RSA 2048)`,
  })
  .default('ec');
