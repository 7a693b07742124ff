// Policy values that may name files: a `publicKeys` entry is PEM text or a path to a PEM file,
// resolved against the policy file's folder. Files are read here, before validation, so the
// validated policy only ever holds PEM text and stays plain, re-parsable data.

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { ConfigError, describeCause } from '../errors.js';

/** A copy of `raw` with every `publicKeys` file path replaced by the file's text. */
export async function resolvePublicKeyFiles(raw: unknown, policyFile: string): Promise<unknown> {
  if (!isRecord(raw) || !isRecord(raw.publicKeys)) {
    return raw;
  }
  const folder = dirname(policyFile);
  const problems: string[] = [];
  const publicKeys: Record<string, unknown> = {};
  for (const [principal, keys] of Object.entries(raw.publicKeys)) {
    if (!isRecord(keys)) {
      publicKeys[principal] = keys;
      continue;
    }
    const resolved: Record<string, unknown> = {};
    for (const [keyId, value] of Object.entries(keys)) {
      if (typeof value !== 'string' || value.includes('-----BEGIN')) {
        resolved[keyId] = value;
        continue;
      }
      const path = resolve(folder, value);
      try {
        resolved[keyId] = await readFile(path, 'utf8');
      } catch (error) {
        problems.push(
          `${policyFile}: publicKeys.${principal}.${keyId}: cannot read ${path}: ${describeCause(error)}`,
        );
      }
    }
    publicKeys[principal] = resolved;
  }
  if (problems.length > 0) {
    throw new ConfigError('CONFIG_INVALID', problems);
  }
  return { ...raw, publicKeys };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
