// The pino root. Modules take a child with `{ module }`; only main creates the root.
// Redaction is a second line of defence: the first is never putting a secret in a log object.

import { pino } from 'pino';
import type { Logger, LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths that could hold credential material if some object reached a log call by mistake. */
const REDACT_PATHS = [
  'token',
  'access_token',
  'id_token',
  'key',
  'privateKey',
  'csr',
  'body',
  'headers.authorization',
  'headers["athenz-principal-auth"]',
  '*.token',
  '*.access_token',
  '*.id_token',
  '*.key',
  '*.privateKey',
  '*.csr',
  '*.body',
];

export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** A logger that drops everything, for library use and tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
