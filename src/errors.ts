// Error classes with stable codes. Callers branch on `code` and `retryable`, never on message
// text. Messages and enumerable fields never carry tokens, keys or response bodies, because the
// logger serialises every enumerable property of an error.

export type ErrorCode =
  | 'CONFIG_READ'
  | 'CONFIG_INVALID'
  | 'CONFIG_UNUSABLE'
  | 'IDENTITY_UNAVAILABLE'
  | 'ZTS_BAD_REQUEST'
  | 'ZTS_READ_ONLY'
  | 'ZTS_UNAUTHENTICATED'
  | 'ZTS_FORBIDDEN'
  | 'ZTS_NOT_FOUND'
  | 'ZTS_RATE_LIMITED'
  | 'ZTS_SERVER_ERROR'
  | 'ZTS_UNEXPECTED_STATUS'
  | 'ZTS_NETWORK'
  | 'ZTS_TLS'
  | 'ZTS_TIMEOUT'
  | 'ZTS_BAD_RESPONSE'
  | 'WRITE_FAILED'
  | 'INPUT_UNAVAILABLE'
  | 'ABORTED';

export interface AgentErrorOptions {
  cause?: unknown;
  /** Whether trying again soon can help. Refusals (400/401/403/404) cannot. */
  retryable?: boolean;
}

/** Base class: every error the agent raises on purpose has a stable code. */
export class AgentError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: AgentErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A config file that cannot be read, parsed or accepted. */
export class ConfigError extends AgentError {
  /** One line per problem, each naming the key, the value and the rule. */
  readonly issues: readonly string[];
  /** Hash of the rejected content, when it was read. */
  readonly sha256: string | undefined;

  constructor(
    code: 'CONFIG_READ' | 'CONFIG_INVALID',
    issues: readonly string[],
    options: { cause?: unknown; sha256?: string } = {},
  ) {
    super(code, issues.join('; '), { cause: options.cause });
    this.issues = issues;
    this.sha256 = options.sha256;
  }
}

/** A failed exchange with ZTS: an error status, a network fault or an unusable answer. */
export class ZtsError extends AgentError {
  /** HTTP status, when ZTS answered at all. */
  readonly status: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: AgentErrorOptions & { status?: number } = {},
  ) {
    super(code, message, options);
    this.status = options.status;
  }
}

/** The identity used for mTLS is missing, unreadable or inconsistent. */
export class IdentityError extends AgentError {
  constructor(message: string, cause?: unknown) {
    super('IDENTITY_UNAVAILABLE', message, { cause, retryable: true });
  }
}

/** A credential file could not be written. Retrying the write can help; refetching cannot. */
export class WriteError extends AgentError {
  readonly path: string;

  constructor(path: string, cause: unknown) {
    super('WRITE_FAILED', `cannot write ${path}: ${describeCause(cause)}`, {
      cause,
      retryable: true,
    });
    this.path = path;
  }
}

/** A short, secret-free description of an arbitrary thrown value. */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === undefined || cause.message.startsWith(code)
      ? cause.message
      : `${code}: ${cause.message}`;
  }
  return String(cause);
}

export function isRetryable(error: unknown): boolean {
  return error instanceof AgentError ? error.retryable : true;
}
