// The dev ZTS server: HTTPS on loopback with optional client certs, so unauthenticated calls
// still reach the API and get ZTS's 401 JSON. Tracks sockets so close() really closes, counts
// handshakes and keeps the request log.

import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { Socket } from 'node:net';

import type { DevZtsRuntime } from './context.js';
import { dispatch } from './dispatch.js';
import { InstanceStore } from './instance-store.js';
import { isPrincipalName, parseDevZtsPolicy } from './policy.js';
import type { DevZtsPolicy } from './policy.js';
import { viewPolicy } from './policy-view.js';
import { BASE_PATH } from './routes.js';
import { issueClientFiles, loadOrCreateState } from './state.js';
import type { DevZts, DevZtsOptions, DevZtsRequest } from './types.js';

/** The host name ZTS writes into role tokens and, by default, access token `iss`. */
const SERVER_HOST_NAME = 'localhost';

/** Keep-alive idle timeout: long enough that tests see pooled connections being reused. */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;

export async function startDevZts(options: DevZtsOptions): Promise<DevZts> {
  const policy = parseDevZtsPolicy(options.policy);
  if (options.certDnsSuffix !== undefined) {
    // Held to the same rule as the policy key it overrides.
    parseDevZtsPolicy({ certDnsSuffix: options.certDnsSuffix, domains: {} }, 'certDnsSuffix');
  }
  const host = options.host ?? '127.0.0.1';
  const state = await loadOrCreateState(options.stateDir, policy.services);

  const server = createServer({
    key: state.serverKeyPem,
    cert: state.serverCertPem,
    ca: [state.caPem],
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;

  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let handshakes = 0;
  server.on('secureConnection', () => {
    handshakes += 1;
  });
  server.on('tlsClientError', (error) => {
    options.logger?.debug({ err: error }, 'dev zts TLS handshake failed');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}${BASE_PATH}`;

  const runtime: DevZtsRuntime = {
    ...viewPolicy(policy, options.certDnsSuffix),
    state,
    instances: new InstanceStore(),
    issuer: options.issuer ?? SERVER_HOST_NAME,
    openIdIssuer: url,
    hostName: SERVER_HOST_NAME,
    url,
  };
  const requests: DevZtsRequest[] = [];
  const hooks = { record: (entry: DevZtsRequest) => requests.push(entry), logger: options.logger };
  server.on('request', (req, res) => {
    dispatch(req, res, runtime, hooks).catch((error: unknown) => {
      // dispatch answers every failure itself; reaching here is a bug, not a client error.
      options.logger?.error({ err: error }, 'dev zts dispatch failed');
      res.destroy();
    });
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    caFile: state.caFile,
    jwksUrl: `${url}/oauth2/keys?rfc=true`,
    requests,
    get handshakes() {
      return handshakes;
    },
    get openConnections() {
      return sockets.size;
    },
    clientIdentity(principal) {
      const files = state.clients.get(principal.toLowerCase());
      if (files === undefined) {
        throw new Error(`${principal} is not one of the policy services the dev ZTS started with`);
      }
      return files;
    },
    async issueClientIdentity(principal, opts = {}) {
      const name = principal.toLowerCase();
      if (!isPrincipalName(name)) {
        throw new Error(
          `${JSON.stringify(principal)} is not a principal name (<domain>.<service>)`,
        );
      }
      return issueClientFiles(state, name, opts.validityMs);
    },
    setPolicy(next: DevZtsPolicy) {
      Object.assign(runtime, viewPolicy(parseDevZtsPolicy(next), options.certDnsSuffix));
    },
    close() {
      closing ??= closeServer(server, sockets);
      return closing;
    },
  };
}

/** Stops listening and cuts every socket (keep-alive and half-open too); waits for all of it. */
async function closeServer(server: Server, sockets: ReadonlySet<Socket>): Promise<void> {
  const listenerClosed = new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  const socketsClosed = [...sockets].map(
    (socket) =>
      new Promise<void>((resolve) => {
        socket.once('close', () => {
          resolve();
        });
        socket.destroy();
      }),
  );
  await Promise.all([listenerClosed, ...socketsClosed]);
}
