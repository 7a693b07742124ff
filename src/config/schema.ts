// The config file's shape: what a user may write, with defaults. Unknown keys are errors at
// every level, so a misspelt key never silently falls back to a default.

import * as z from 'zod';

import { formatDuration } from '../util/duration.js';
import { SIMPLE_NAME } from '../athenz/names.js';
import {
  dnsSuffix,
  domainName,
  duration,
  fileMode,
  fileName,
  fraction,
  keyType,
  providerName,
  roleList,
  roleName,
  serviceName,
} from './fields.js';

const show = (value: unknown): string => JSON.stringify(value);

/** ZTS grants at most 30 days; asking for more is a mistake, not a wish. */
const MAX_EXPIRY = 30 * 86_400_000;
/** Timeouts beyond this are mistakes (and past ~24.8 days overflow Node's timers). */
const MAX_TIMEOUT = 10 * 60_000;

const ztsUrl = z.string().refine(
  (text) => {
    try {
      const url = new URL(text);
      return (
        url.protocol === 'https:' &&
        url.search === '' &&
        url.hash === '' &&
        url.username === '' &&
        url.password === '' &&
        /\/zts\/v1\/?$/.test(url.pathname)
      );
    } catch {
      return false;
    }
  },
  {
    error: (issue) =>
      `${show(issue.input)} is not a ZTS URL: https (ZTS accepts TLS only), ending in /zts/v1, without query or credentials, e.g. "https://zts.example.com:4443/zts/v1"`,
  },
);

const listenAddress = z.string().refine((text) => parseListen(text) !== undefined, {
  error: (issue) =>
    `${show(issue.input)} is not a listen address of the form "host:port" or "[ipv6]:port" with a port from 0 to 65535`,
});

const backoff = (initial: string, max: string) =>
  z
    .strictObject({
      initial: duration({ min: 10, max: 86_400_000 }).prefault(initial),
      max: duration({ min: 10, max: 86_400_000 }).prefault(max),
    })
    .prefault({})
    .refine((value) => value.initial <= value.max, {
      error: (issue) => {
        const value = issue.input as { initial: number; max: number };
        return `initial (${formatDuration(value.initial)}) must not be longer than max (${formatDuration(value.max)})`;
      },
    });

const identityFiles = z.strictObject({
  source: z.literal('files'),
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
});

const identityRegister = z.strictObject({
  source: z.literal('register'),
  provider: providerName,
  domain: domainName,
  service: serviceName,
  instanceId: z.string().regex(/^[a-zA-Z0-9-._~=+@$,:]+$/, {
    error: (issue) =>
      `${show(issue.input)} is not an instance id (letters, digits and - . _ ~ = + @ $ , :)`,
  }),
  attestationFile: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
  dnsSuffix: dnsSuffix.optional(),
  keyType,
  expiry: duration({ min: 60_000, max: MAX_EXPIRY }).optional(),
  certFile: fileName.default('service.cert.pem'),
  keyFile: fileName.default('service.key.pem'),
  caCertFile: fileName.default('ca.cert.pem'),
});

const identityNtoken = z.strictObject({
  source: z.literal('ntoken'),
  domain: domainName,
  service: serviceName,
  keyFile: z.string().min(1),
  keyVersion: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]+$/, {
      error: (issue) => `${show(issue.input)} is not a key version (letters, digits, _ . -)`,
    })
    .default('0'),
  expiry: duration({ min: 60_000, max: 30 * 86_400_000 }).prefault('1h'),
  file: fileName.optional(),
});

/** `source` defaults to `files`, the common case of a cert written by another sidecar. */
const identity = z.preprocess(
  (value) =>
    value !== null && typeof value === 'object' && !('source' in value)
      ? { ...value, source: 'files' }
      : value,
  z.discriminatedUnion('source', [identityFiles, identityRegister, identityNtoken], {
    error: (issue) =>
      issue.input !== null && typeof issue.input === 'object'
        ? `source ${show((issue.input as { source?: unknown }).source)} is not an identity source (allowed: "files", "register", "ntoken")`
        : `${show(issue.input)} is not a mapping with certFile and keyFile, or with a source`,
  }),
);

const accessToken = z.strictObject({
  domain: domainName,
  roles: roleList.optional(),
  expiry: duration({ min: 1000, max: MAX_EXPIRY }).optional(),
  file: fileName.optional(),
  format: z
    .enum(['jwt', 'json'], {
      error: (issue) => `${show(issue.input)} is not a token format (allowed: "jwt", "json")`,
    })
    .default('jwt'),
  mode: fileMode.optional(),
});

const roleCert = z.strictObject({
  domain: domainName,
  role: roleName,
  keyType,
  expiry: duration({ min: 60_000, max: MAX_EXPIRY }).optional(),
  certFile: fileName.optional(),
  keyFile: fileName.optional(),
  appendCaBundle: z
    .string()
    .refine((name) => SIMPLE_NAME.test(name), {
      error: (issue) => `${show(issue.input)} is not a CA bundle name`,
    })
    .optional(),
  mode: fileMode.optional(),
  keyMode: fileMode.optional(),
  pkcs12: z
    .strictObject({
      file: fileName,
      passwordFile: z.string().min(1),
    })
    .optional(),
});

const roleToken = z.strictObject({
  domain: domainName,
  roles: roleList.optional(),
  minExpiry: duration({ min: 1000, max: MAX_EXPIRY }).optional(),
  maxExpiry: duration({ min: 1000, max: MAX_EXPIRY }).optional(),
  file: fileName.optional(),
  mode: fileMode.optional(),
});

export const rawConfigSchema = z.strictObject({
  zts: z.strictObject({
    url: ztsUrl,
    caFile: z.string().min(1),
    connectTimeout: duration({ min: 100, max: MAX_TIMEOUT }).prefault('5s'),
    requestTimeout: duration({ min: 100, max: MAX_TIMEOUT }).prefault('15s'),
    maxConnections: z.number().int().min(1).max(64).default(4),
    certDnsSuffix: dnsSuffix.default('athenz.cloud'),
  }),
  identity,
  output: z
    .strictObject({
      dir: z.string().min(1).default('/var/run/athenz'),
      mode: fileMode.prefault('0440'),
      keyMode: fileMode.prefault('0400'),
      groupId: z.number().int().min(0).max(4_294_967_294).optional(),
    })
    .prefault({}),
  refresh: z
    .strictObject({
      fraction: fraction.default(0.5),
      jitter: z.number().min(0).max(0.5).default(0.1),
      floor: duration({ min: 100, max: 86_400_000 }).prefault('30s'),
      backoff: backoff('1s', '30s'),
      refusedBackoff: backoff('30s', '10m'),
    })
    .prefault({})
    .refine(
      (value) =>
        value.refusedBackoff.initial >= value.backoff.initial &&
        value.refusedBackoff.max >= value.backoff.max,
      {
        error:
          'refusedBackoff must not be shorter than backoff: refused requests (4xx) are retried no faster than failed ones (5xx)',
        path: ['refusedBackoff'],
      },
    )
    .refine((value) => value.fraction + value.jitter < 1, {
      error: (issue) => {
        const value = issue.input as { fraction: number; jitter: number };
        return `fraction (${value.fraction}) plus jitter (${value.jitter}) must stay below 1, or a refresh could land after expiry`;
      },
      path: ['jitter'],
    }),
  accessTokens: z.array(accessToken).default([]),
  roleTokens: z.array(roleToken).default([]),
  roleCerts: z.array(roleCert).default([]),
  health: z
    .strictObject({
      listen: listenAddress.default('0.0.0.0:8081'),
      stuckAfter: duration({ min: 1000, max: 86_400_000 }).prefault('5m'),
    })
    .prefault({}),
  reload: z
    .strictObject({
      watch: z.boolean().default(true),
      interval: duration({ max: 86_400_000 }).prefault('10s'),
      debounce: duration({ max: 60_000 }).prefault('300ms'),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z
        .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], {
          error: (issue) =>
            `${show(issue.input)} is not a log level (allowed: fatal, error, warn, info, debug, trace)`,
        })
        .default('info'),
    })
    .prefault({}),
});

export type RawConfig = z.output<typeof rawConfigSchema>;

/** Splits `host:port` or `[v6]:port`; undefined when malformed. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) {
    return undefined;
  }
  const port = Number(match[3]);
  if (port > 65_535) {
    return undefined;
  }
  return { host: match[1] ?? match[2] ?? '', port };
}
