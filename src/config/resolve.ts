// Raw config → resolved config: defaults, absolute paths, default file names and the rules that
// span several keys (a lifetime below the refresh floor, two entries writing one file).

import { basename, dirname, resolve as resolvePath } from 'node:path';

import { formatDuration } from '../util/duration.js';
import { MAX_FILE_NAME } from './fields.js';

import { accessTokenSpec, roleCertSpec, roleTokenSpec } from './credential-specs.js';
import type { SpecContext } from './credential-specs.js';
import { identitySpec } from './identity-spec.js';
import { parseListen } from './schema.js';
import type { RawConfig } from './schema.js';
import type { CredentialSpec, ResolvedConfig } from './types.js';

/**
 * Resolves a validated raw config. Returns the problems found across keys instead of a config
 * when there are any; each names the key, the value and the rule.
 */
export function resolveConfig(
  raw: RawConfig,
  source: { path: string; sha256: string },
): { config: ResolvedConfig } | { issues: string[] } {
  const base = dirname(source.path);
  const context: SpecContext = {
    raw,
    base,
    outputDir: resolvePath(base, raw.output.dir),
    issues: [],
  };
  const keyed: Array<{ key: string; spec: CredentialSpec | undefined }> = [];

  const { identity, credential } = identitySpec(context);
  keyed.push({ key: 'identity', spec: credential });
  raw.accessTokens.forEach((entry, index) => {
    const key = `accessTokens[${index}]`;
    keyed.push({ key, spec: accessTokenSpec(entry, key, context) });
  });
  raw.roleTokens.forEach((entry, index) => {
    const key = `roleTokens[${index}]`;
    keyed.push({ key, spec: roleTokenSpec(entry, key, context) });
  });
  raw.roleCerts.forEach((entry, index) => {
    const key = `roleCerts[${index}]`;
    keyed.push({ key, spec: roleCertSpec(entry, key, context) });
  });
  const credentials = keyed.flatMap(({ spec }) => (spec === undefined ? [] : [spec]));
  checkUniqueFiles(keyed, context.issues);
  checkInputsNotOverwritten(keyed, inputFiles(raw, base, source.path), context.issues);
  checkTimeouts(raw, context.issues);

  if (context.issues.length > 0) {
    return { issues: context.issues };
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
      certDnsSuffix: raw.zts.certDnsSuffix,
    },
    identity,
    output: {
      dir: context.outputDir,
      mode: raw.output.mode,
      keyMode: raw.output.keyMode,
      groupId: raw.output.groupId,
    },
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
    reload: {
      watch: raw.reload.watch,
      intervalMs: raw.reload.interval,
      debounceMs: raw.reload.debounce,
    },
    log: { level: raw.log.level },
  };
  return { config: deepFreeze(config) };
}

function checkUniqueFiles(
  keyed: ReadonlyArray<{ key: string; spec: CredentialSpec | undefined }>,
  issues: string[],
): void {
  // Compared without case: `A.token` and `a.token` are one file on some filesystems.
  const owners = new Map<string, string>();
  for (const { key, spec } of keyed) {
    for (const file of spec?.files ?? []) {
      if (basename(file).length > MAX_FILE_NAME) {
        issues.push(
          `${key}: the file name ${JSON.stringify(basename(file))} is longer than ${MAX_FILE_NAME} characters; set a shorter file name`,
        );
      }
      const owner = owners.get(file.toLowerCase());
      if (owner === undefined) {
        owners.set(file.toLowerCase(), key);
      } else {
        issues.push(
          `${key}: writes ${JSON.stringify(file)}, which ${owner} already writes; every credential needs its own files (set a file name on one of them)`,
        );
      }
    }
  }
}

/** Files the agent reads: no credential may be written over one of them. */
function inputFiles(raw: RawConfig, base: string, configPath: string): Map<string, string> {
  const inputs = new Map<string, string>([
    [configPath, 'the config file'],
    [resolvePath(base, raw.zts.caFile), 'zts.caFile'],
  ]);
  const identity = raw.identity;
  if (identity.source === 'files') {
    inputs.set(resolvePath(base, identity.certFile), 'identity.certFile');
    inputs.set(resolvePath(base, identity.keyFile), 'identity.keyFile');
  } else if (identity.source === 'ntoken') {
    inputs.set(resolvePath(base, identity.keyFile), 'identity.keyFile');
  } else {
    inputs.set(resolvePath(base, identity.attestationFile), 'identity.attestationFile');
  }
  raw.roleCerts.forEach((entry, index) => {
    if (entry.pkcs12 !== undefined) {
      inputs.set(
        resolvePath(base, entry.pkcs12.passwordFile),
        `roleCerts[${index}].pkcs12.passwordFile`,
      );
    }
  });
  return inputs;
}

function checkInputsNotOverwritten(
  keyed: ReadonlyArray<{ key: string; spec: CredentialSpec | undefined }>,
  inputs: ReadonlyMap<string, string>,
  issues: string[],
): void {
  for (const { key, spec } of keyed) {
    for (const file of spec?.files ?? []) {
      const input = inputs.get(file);
      if (input !== undefined) {
        issues.push(
          `${key}: would write ${JSON.stringify(file)}, which is ${input}; the agent reads that file and must never overwrite it`,
        );
      }
    }
  }
}

/** Liveness calls an attempt stuck after health.stuckAfter; an attempt may make a few requests. */
function checkTimeouts(raw: RawConfig, issues: string[]): void {
  const longestAttempt = 4 * raw.zts.requestTimeout;
  if (raw.health.stuckAfter < longestAttempt) {
    issues.push(
      `health.stuckAfter: "${formatDuration(raw.health.stuckAfter)}" is shorter than 4 × zts.requestTimeout ("${formatDuration(longestAttempt)}"); liveness would fail during an ordinary ZTS outage`,
    );
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
