// Raw config → resolved config: defaults, absolute paths, default file names and the rules that
// span several keys (a lifetime below the refresh floor, two entries writing one file).

import { dirname, resolve as resolvePath } from 'node:path';

import { formatDuration } from '../util/duration.js';
import { parseListen } from './schema.js';
import type { RawConfig } from './schema.js';
import type { CredentialSpec, ResolvedConfig } from './types.js';

type RawAccessToken = RawConfig['accessTokens'][number];
type RawRoleToken = RawConfig['roleTokens'][number];

/**
 * Resolves a validated raw config. Returns the problems found across keys instead of a config
 * when there are any; each names the key, the value and the rule.
 */
export function resolveConfig(
  raw: RawConfig,
  source: { path: string; sha256: string },
): { config: ResolvedConfig } | { issues: string[] } {
  const base = dirname(source.path);
  const outputDir = resolvePath(base, raw.output.dir);
  const issues: string[] = [];
  const keyed: Array<{ key: string; spec: CredentialSpec }> = [];

  raw.accessTokens.forEach((entry, index) => {
    const key = `accessTokens[${index}]`;
    const spec = accessTokenSpec(entry, key, outputDir, raw, issues);
    if (spec !== undefined) {
      keyed.push({ key, spec });
    }
  });
  raw.roleTokens.forEach((entry, index) => {
    const key = `roleTokens[${index}]`;
    const spec = roleTokenSpec(entry, key, outputDir, raw, issues);
    if (spec !== undefined) {
      keyed.push({ key, spec });
    }
  });
  checkUniqueFiles(keyed, issues);
  const credentials = keyed.map(({ spec }) => spec);

  if (issues.length > 0) {
    return { issues };
  }

  const listen = parseListen(raw.health.listen) ?? { host: '0.0.0.0', port: 8081 };
  const config: ResolvedConfig = {
    source,
    zts: {
      url: raw.zts.url.replace(/\/+$/, ''),
      caFile: resolvePath(base, raw.zts.caFile),
      connectTimeoutMs: raw.zts.connectTimeout,
      requestTimeoutMs: raw.zts.requestTimeout,
      maxConnections: raw.zts.maxConnections,
    },
    identity: {
      source: raw.identity.source,
      certFile: resolvePath(base, raw.identity.certFile),
      keyFile: resolvePath(base, raw.identity.keyFile),
    },
    output: { dir: outputDir, mode: raw.output.mode, groupId: raw.output.groupId },
    refresh: {
      fraction: raw.refresh.fraction,
      jitter: raw.refresh.jitter,
      floorMs: raw.refresh.floor,
      backoff: { initialMs: raw.refresh.backoff.initial, maxMs: raw.refresh.backoff.max },
      refusedBackoff: {
        initialMs: raw.refresh.refusedBackoff.initial,
        maxMs: raw.refresh.refusedBackoff.max,
      },
    },
    credentials,
    health: { ...listen, stuckAfterMs: raw.health.stuckAfter },
    log: { level: raw.log.level },
  };
  return { config: deepFreeze(config) };
}

function accessTokenSpec(
  entry: RawAccessToken,
  key: string,
  outputDir: string,
  raw: RawConfig,
  issues: string[],
): CredentialSpec | undefined {
  checkAgainstFloor(entry.expiry, `${key}.expiry`, raw, issues);
  const file = entry.file ?? defaultFileName(entry.domain, entry.roles, 'accesstoken');
  if (file === undefined) {
    issues.push(manyRolesNeedFile(key, entry.roles));
    return undefined;
  }
  return {
    kind: 'accessToken',
    id: resolvePath(outputDir, file),
    name: `access token ${target(entry.domain, entry.roles)}`,
    domain: entry.domain,
    roles: entry.roles,
    file: resolvePath(outputDir, file),
    mode: entry.mode ?? raw.output.mode,
    groupId: raw.output.groupId,
    expiresInSec: entry.expiry === undefined ? undefined : Math.ceil(entry.expiry / 1000),
    format: entry.format,
  };
}

function roleTokenSpec(
  entry: RawRoleToken,
  key: string,
  outputDir: string,
  raw: RawConfig,
  issues: string[],
): CredentialSpec | undefined {
  checkAgainstFloor(entry.minExpiry, `${key}.minExpiry`, raw, issues);
  checkAgainstFloor(entry.maxExpiry, `${key}.maxExpiry`, raw, issues);
  if (
    entry.minExpiry !== undefined &&
    entry.maxExpiry !== undefined &&
    entry.minExpiry > entry.maxExpiry
  ) {
    issues.push(
      `${key}.minExpiry: "${formatDuration(entry.minExpiry)}" is longer than maxExpiry ("${formatDuration(entry.maxExpiry)}"); ZTS would ignore it`,
    );
  }
  const file = entry.file ?? defaultFileName(entry.domain, entry.roles, 'roletoken');
  if (file === undefined) {
    issues.push(manyRolesNeedFile(key, entry.roles));
    return undefined;
  }
  return {
    kind: 'roleToken',
    id: resolvePath(outputDir, file),
    name: `role token ${target(entry.domain, entry.roles)}`,
    domain: entry.domain,
    roles: entry.roles,
    file: resolvePath(outputDir, file),
    mode: entry.mode ?? raw.output.mode,
    groupId: raw.output.groupId,
    minExpirySec: entry.minExpiry === undefined ? undefined : Math.ceil(entry.minExpiry / 1000),
    maxExpirySec: entry.maxExpiry === undefined ? undefined : Math.ceil(entry.maxExpiry / 1000),
  };
}

/**
 * k8s-athenz-sia's names, so apps can switch agents without changes: `<domain>:role.<role>.<ext>`
 * for one role and `<domain>.<ext>` for the whole domain. Several roles have no such name.
 */
export function defaultFileName(
  domain: string,
  roles: readonly string[] | undefined,
  extension: string,
): string | undefined {
  if (roles === undefined) {
    return `${domain}.${extension}`;
  }
  return roles.length === 1 ? `${domain}:role.${roles[0]}.${extension}` : undefined;
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
  raw: RawConfig,
  issues: string[],
): void {
  if (lifetimeMs !== undefined && lifetimeMs < raw.refresh.floor) {
    issues.push(
      `${key}: "${formatDuration(lifetimeMs)}" is shorter than refresh.floor ("${formatDuration(raw.refresh.floor)}"); the token would expire before the agent may refresh it`,
    );
  }
}

function checkUniqueFiles(
  keyed: ReadonlyArray<{ key: string; spec: CredentialSpec }>,
  issues: string[],
): void {
  const owners = new Map<string, string>();
  for (const { key, spec } of keyed) {
    const owner = owners.get(spec.file);
    if (owner === undefined) {
      owners.set(spec.file, key);
    } else {
      issues.push(
        `${key}.file: ${JSON.stringify(spec.file)} is already written by ${owner}; every credential needs its own file (set "file" on one of them)`,
      );
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) {
      deepFreeze(child);
    }
    Object.freeze(value);
  }
  return value;
}
