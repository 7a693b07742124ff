// One builder per credential kind: raw config entry → resolved spec with its files, modes and
// requested lifetime. Problems that span keys are pushed to `issues`, each naming its key.

import { resolve as resolvePath } from 'node:path';

import { formatDuration } from '../util/duration.js';
import type { RawConfig } from './schema.js';
import type { AccessTokenSpec, RoleCertSpec, RoleTokenSpec } from './types.js';

type RawAccessToken = RawConfig['accessTokens'][number];
type RawRoleToken = RawConfig['roleTokens'][number];
type RawRoleCert = RawConfig['roleCerts'][number];

export interface SpecContext {
  raw: RawConfig;
  /** Absolute output directory. */
  outputDir: string;
  /** Folder of the config file, for relative input paths. */
  base: string;
  issues: string[];
}

export function accessTokenSpec(
  entry: RawAccessToken,
  key: string,
  context: SpecContext,
): AccessTokenSpec | undefined {
  checkAgainstFloor(entry.expiry, `${key}.expiry`, context);
  const base = tokenBase(entry, key, context, 'access token', 'accesstoken');
  return (
    base && {
      ...base,
      kind: 'accessToken',
      expiresInSec: entry.expiry === undefined ? undefined : Math.ceil(entry.expiry / 1000),
      format: entry.format,
    }
  );
}

export function roleTokenSpec(
  entry: RawRoleToken,
  key: string,
  context: SpecContext,
): RoleTokenSpec | undefined {
  checkAgainstFloor(entry.minExpiry, `${key}.minExpiry`, context);
  checkAgainstFloor(entry.maxExpiry, `${key}.maxExpiry`, context);
  if (
    entry.minExpiry !== undefined &&
    entry.maxExpiry !== undefined &&
    entry.minExpiry > entry.maxExpiry
  ) {
    context.issues.push(
      `${key}.minExpiry: "${formatDuration(entry.minExpiry)}" is longer than maxExpiry ("${formatDuration(entry.maxExpiry)}"); ZTS would ignore it`,
    );
  }
  const base = tokenBase(entry, key, context, 'role token', 'roletoken');
  return (
    base && {
      ...base,
      kind: 'roleToken',
      minExpirySec: entry.minExpiry === undefined ? undefined : Math.ceil(entry.minExpiry / 1000),
      maxExpirySec: entry.maxExpiry === undefined ? undefined : Math.ceil(entry.maxExpiry / 1000),
    }
  );
}

export function roleCertSpec(entry: RawRoleCert, key: string, context: SpecContext): RoleCertSpec {
  checkAgainstFloor(entry.expiry, `${key}.expiry`, context);
  if (entry.pkcs12 !== undefined && entry.keyType !== 'rsa') {
    context.issues.push(
      `${key}.pkcs12: needs keyType "rsa" (got "${entry.keyType}"); the PKCS#12 writer (node-forge) reads RSA keys only`,
    );
  }
  const stem = `${entry.domain}:role.${entry.role}`;
  const file = resolvePath(context.outputDir, entry.certFile ?? `${stem}.cert.pem`);
  const keyFile = resolvePath(context.outputDir, entry.keyFile ?? `${stem}.key.pem`);
  const pkcs12 =
    entry.pkcs12 === undefined
      ? undefined
      : {
          file: resolvePath(context.outputDir, entry.pkcs12.file),
          passwordFile: resolvePath(context.base, entry.pkcs12.passwordFile),
        };
  return {
    kind: 'roleCert',
    id: file,
    name: `role certificate ${stem}`,
    domain: entry.domain,
    roles: [entry.role],
    role: entry.role,
    keyType: entry.keyType,
    expiryMins: entry.expiry === undefined ? undefined : Math.ceil(entry.expiry / 60_000),
    file,
    keyFile,
    // The key goes first: a reader that sees a new certificate always finds its key.
    files: [keyFile, file, ...(pkcs12 === undefined ? [] : [pkcs12.file])],
    mode: entry.mode ?? context.raw.output.mode,
    keyMode: entry.keyMode ?? context.raw.output.keyMode,
    groupId: context.raw.output.groupId,
    appendCaBundle: entry.appendCaBundle,
    pkcs12,
    dnsSuffix: context.raw.zts.certDnsSuffix,
  };
}

/** What every token entry shares: its names, its one file, its mode. */
function tokenBase(
  entry: RawAccessToken | RawRoleToken,
  key: string,
  context: SpecContext,
  label: string,
  extension: string,
) {
  const name = entry.file ?? defaultFileName(entry.domain, entry.roles, extension);
  if (name === undefined) {
    context.issues.push(manyRolesNeedFile(key, entry.roles));
    return undefined;
  }
  const file = resolvePath(context.outputDir, name);
  return {
    id: file,
    name: `${label} ${target(entry.domain, entry.roles)}`,
    domain: entry.domain,
    roles: entry.roles,
    file,
    files: [file],
    mode: entry.mode ?? context.raw.output.mode,
    groupId: context.raw.output.groupId,
  };
}

/**
 * k8s-athenz-sia's names, so apps can switch agents without changes: `<domain>:role.<role>.<ext>`
 * for one role and `<domain>.<ext>` for the whole domain. Several roles have no such name.
 */
function defaultFileName(
  domain: string,
  roles: readonly string[] | undefined,
  extension: string,
): string | undefined {
  if (roles === undefined) {
    return `${domain}.${extension}`;
  }
  return roles.length === 1 ? `${domain}:role.${roles[0] ?? ''}.${extension}` : undefined;
}

function target(domain: string, roles: readonly string[] | undefined): string {
  return roles === undefined
    ? `${domain}:domain`
    : roles.map((role) => `${domain}:role.${role}`).join(' ');
}

function manyRolesNeedFile(key: string, roles: readonly string[] | undefined): string {
  return `${key}.file: required when several roles share one token (${JSON.stringify(roles)}); there is no default file name for more than one role`;
}

function checkAgainstFloor(
  lifetimeMs: number | undefined,
  key: string,
  context: SpecContext,
): void {
  const floor = context.raw.refresh.floor;
  if (lifetimeMs !== undefined && lifetimeMs < floor) {
    context.issues.push(
      `${key}: "${formatDuration(lifetimeMs)}" is shorter than refresh.floor ("${formatDuration(floor)}"); it would expire before the agent may refresh it`,
    );
  }
}
