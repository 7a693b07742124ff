// Builds the undici Agent that carries every ZTS request: mTLS with the identity's cert and key,
// the configured CA as the only trust anchor, keep-alive and a bounded pool.

import { Agent } from 'undici';

export interface ZtsTlsMaterial {
  /** PEM trust anchors for the ZTS server certificate. */
  ca: string;
  /** PEM client certificate (chain) presented to ZTS; absent for unauthenticated calls. */
  cert?: string;
  /** PEM private key matching `cert`. */
  key?: string;
}

export interface ZtsConnectionOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
}

/**
 * One Agent per identity. A rotated identity needs a new Agent: pooled keep-alive connections
 * keep presenting the certificate they were opened with, whatever the options say later.
 */
export function createZtsDispatcher(tls: ZtsTlsMaterial, options: ZtsConnectionOptions): Agent {
  return new Agent({
    connect: {
      ca: tls.ca,
      ...(tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key }),
      minVersion: 'TLSv1.2',
      // undici ignores a request's abort signal while the connection (TCP + TLS) is being set
      // up, so the request timeout must bound the connect timeout for it to hold.
      timeout: Math.min(options.connectTimeoutMs, options.requestTimeoutMs),
    },
    connections: options.maxConnections,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    headersTimeout: options.requestTimeoutMs,
    bodyTimeout: options.requestTimeoutMs,
  });
}
