// Maps what went wrong talking to ZTS onto stable codes that say whether retrying can help.
// Upstream has no classifier; this follows the guidance in the ZTS reference: retry 429, 5xx and
// network faults soon; treat 400/401/403/404 as refusals, except the transient read-only 400.

import { errors as undiciErrors } from 'undici';

import { AgentError, ZtsError, describeCause } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { errorBody } from './wire.js';

const MAX_MESSAGE = 240;

/** An error for a non-2xx answer. Only ZTS's own `message` is kept, shortened, never the body. */
export function statusError(status: number, bodyText: string, what: string): ZtsError {
  const serverMessage = readServerMessage(bodyText);
  const detail = serverMessage === undefined ? '' : `: ${serverMessage}`;
  const message = `ZTS answered ${status} to ${what}${detail}`;
  const [code, retryable] = classifyStatus(status, serverMessage);
  return new ZtsError(code, message, { status, retryable });
}

function classifyStatus(status: number, serverMessage: string | undefined): [ErrorCode, boolean] {
  if (status === 400 && serverMessage !== undefined && /read-only mode/i.test(serverMessage)) {
    return ['ZTS_READ_ONLY', true];
  }
  switch (status) {
    case 400:
      return ['ZTS_BAD_REQUEST', false];
    case 401:
      return ['ZTS_UNAUTHENTICATED', false];
    case 403:
      return ['ZTS_FORBIDDEN', false];
    case 404:
      return ['ZTS_NOT_FOUND', false];
    case 429:
      return ['ZTS_RATE_LIMITED', true];
    default:
      return status >= 500 ? ['ZTS_SERVER_ERROR', true] : ['ZTS_UNEXPECTED_STATUS', true];
  }
}

function readServerMessage(bodyText: string): string | undefined {
  try {
    const parsed = errorBody.safeParse(JSON.parse(bodyText));
    const message = parsed.success ? parsed.data.message : undefined;
    return message === undefined ? undefined : sanitise(message);
  } catch {
    return undefined;
  }
}

/**
 * ZTS's message goes to logs and to the unauthenticated /readyz: strip control characters (no
 * forged log lines) and anything shaped like a credential (a JWT, a signed token, a PEM block).
 */
export function sanitise(message: string): string {
  return (
    message
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .replace(/-----BEGIN [^-]+-----[\s\S]*?(-----END [^-]+-----|$)/g, '[pem]')
      .replace(/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[jwt]')
      .replace(/\bv=[A-Z]\d;[^\s]*/g, '[token]')
      .slice(0, MAX_MESSAGE)
  );
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Certificate verification failures: retrying does not fix a wrong CA or an expired cert. */
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** An error for a request that got no usable answer at all. */
export function transportError(
  error: unknown,
  what: string,
  signals: { stop: AbortSignal; timeout: AbortSignal },
): AgentError {
  if (error instanceof AgentError) {
    return error;
  }
  if (signals.stop.aborted) {
    return new AgentError('ABORTED', `${what} was cancelled: the agent is stopping`, {
      cause: error,
    });
  }
  const code = errorCode(error);
  if (signals.timeout.aborted || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new ZtsError('ZTS_TIMEOUT', `${what} timed out`, { cause: error, retryable: true });
  }
  if (code !== undefined && TLS_CODES.has(code)) {
    return new ZtsError('ZTS_TLS', `${what} failed TLS verification: ${describeCause(error)}`, {
      cause: error,
      retryable: false,
    });
  }
  return new ZtsError('ZTS_NETWORK', `${what} failed: ${describeCause(error)}`, {
    cause: error,
    retryable: true,
  });
}

function errorCode(error: unknown): string | undefined {
  if (error instanceof undiciErrors.UndiciError) {
    const cause = (error as { cause?: unknown }).cause;
    return errorCode(cause) ?? error.code;
  }
  if (error instanceof Error) {
    return (error as NodeJS.ErrnoException).code ?? errorCode(error.cause);
  }
  return undefined;
}
