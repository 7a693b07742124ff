// Reads a config file into a resolved config: bytes → YAML → schema → resolution. Every failure
// becomes a ConfigError whose lines name the key, the value and the rule.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { parseDocument } from 'yaml';

import { ConfigError, describeCause } from '../errors.js';
import { expandEnv } from './env.js';
import { formatIssues } from './format-issues.js';
import { resolveConfig } from './resolve.js';
import { rawConfigSchema } from './schema.js';
import type { ResolvedConfig } from './types.js';

/** Reads and validates the config at `path`. Throws ConfigError. */
export async function loadConfig(path: string): Promise<ResolvedConfig> {
  const absolute = resolve(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (error) {
    throw new ConfigError('CONFIG_READ', [`cannot read ${absolute}: ${describeCause(error)}`], {
      cause: error,
    });
  }
  return parseConfig(bytes, absolute);
}

/** Validates config text that came from `path` (used to resolve relative paths). */
export function parseConfig(
  bytes: Buffer | string,
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConfig {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  try {
    return validate(typeof bytes === 'string' ? bytes : bytes.toString('utf8'), path, sha256, env);
  } catch (error) {
    // Tag the rejection with what was rejected, so a reload reports each bad edit once.
    throw error instanceof ConfigError
      ? new ConfigError(error.code as 'CONFIG_INVALID', error.issues, { sha256 })
      : error;
  }
}

function validate(
  text: string,
  path: string,
  sha256: string,
  env: NodeJS.ProcessEnv,
): ResolvedConfig {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      'CONFIG_INVALID',
      document.errors.map((error) => `${path}: YAML syntax: ${yamlErrorText(error)}`),
    );
  }
  let data: unknown;
  try {
    data = document.toJS();
  } catch (error) {
    // e.g. an alias bomb: the yaml library refuses excessive alias expansion.
    throw new ConfigError('CONFIG_INVALID', [
      `${path}: YAML cannot be read: ${describeCause(error)}`,
    ]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError('CONFIG_INVALID', [
      `${path}: the config must be a YAML mapping with at least "zts" and "identity"`,
    ]);
  }

  const envIssues: string[] = [];
  const expanded = expandEnv(data, env, envIssues);
  if (envIssues.length > 0) {
    throw new ConfigError('CONFIG_INVALID', envIssues);
  }
  const parsed = rawConfigSchema.safeParse(expanded, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigError('CONFIG_INVALID', formatIssues(parsed.error.issues));
  }
  const resolved = resolveConfig(parsed.data, { path, sha256 });
  if ('issues' in resolved) {
    throw new ConfigError('CONFIG_INVALID', resolved.issues);
  }
  return resolved.config;
}

function yamlErrorText(error: Error): string {
  // With prettyErrors the first line already says where: "… at line 3, column 3:".
  return (error.message.split('\n')[0] ?? error.message).replace(/:$/, '');
}
