// HTTP plumbing shared by every endpoint: errors shaped like the ZTS ResourceError
// (`{"code": <status>, "message": "<text>"}`), JSON replies, and a size-limited body reader.

import type { Readable } from 'node:stream';

/** Bodies above this get 400 instead of being buffered: the dev ZTS protects itself too. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The challenge of the default PrincipalAuthority, which ZTS adds to every 401. */
export const AUTH_CHALLENGE: Readonly<Record<string, string>> = {
  'WWW-Authenticate': 'AthenzPrincipalToken realm="athenz"',
};

/** What a handler hands back; the server writes it (and logs it) in one place. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** An error with the HTTP status and ResourceError message ZTS would answer with. */
export class ZtsHttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ZtsHttpError';
    this.status = status;
    this.headers = headers;
  }
}

export function jsonReply(body: unknown, status = 200): Reply {
  return { status, body };
}

export function errorReply(error: ZtsHttpError): Reply {
  return {
    status: error.status,
    body: { code: error.status, message: error.message },
    headers: error.headers,
  };
}

export function badRequest(message: string): ZtsHttpError {
  return new ZtsHttpError(400, message);
}

/**
 * Reads the whole body, refusing more than `limit` bytes. On overflow it stops buffering, drains
 * the rest and rejects with a 400 that closes the connection.
 */
export function readBody(
  stream: Readable,
  declaredLength: string | undefined,
  limit = MAX_BODY_BYTES,
): Promise<Buffer> {
  const tooLarge = (): ZtsHttpError =>
    new ZtsHttpError(400, `Request body exceeds ${limit} bytes`, { Connection: 'close' });
  if (declaredLength !== undefined && Number(declaredLength) > limit) {
    stream.resume();
    return Promise.reject(tooLarge());
  }

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer | string): void => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > limit) {
        cleanup();
        stream.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

/** Parses a JSON body; malformed JSON gets 400, as ZTS's JsonParseExceptionMapper does. */
export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw badRequest('Invalid JSON in request body');
  }
}
