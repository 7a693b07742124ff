// The dev ZTS server: HTTPS on loopback with optional client certs, so unauthenticated calls
// still reach the API and get ZTS's 401 JSON. A front listener owns the port (so handshakes can
// be stalled on demand) and tracks sockets so close() really closes; the server counts
// handshakes, keeps the request log and holds the run-time fault table.

import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';

import type { DevZtsRuntime } from './context.js';
import { dispatch } from './dispatch.js';
import { FaultTable } from './faults.js';
import { InstanceStore } from './instance-store.js';
import { FrontListener } from './listener.js';
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

/** Registered instances of each started server, for `resumeFrom`. */
const instanceStores = new WeakMap<DevZts, InstanceStore>();

export async function startDevZts(options: DevZtsOptions): Promise<DevZts> {
  const policy = parseDevZtsPolicy(options.policy);
  if (options.certDnsSuffix !== undefined) {
    // Held to the same rule as the policy key it overrides.
    parseDevZtsPolicy({ certDnsSuffix: options.certDnsSuffix, domains: {} }, 'certDnsSuffix');
  }
  const host = options.host ?? '127.0.0.1';
  const instances = resumedInstances(options.resumeFrom);
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

  let handshakes = 0;
  const handshakesBySerial = new Map<string, number>();
  server.on('secureConnection', (socket: TLSSocket) => {
    handshakes += 1;
    const serial = socket.getPeerX509Certificate()?.serialNumber.toLowerCase() ?? '';
    handshakesBySerial.set(serial, (handshakesBySerial.get(serial) ?? 0) + 1);
  });
  server.on('tlsClientError', (error) => {
    options.logger?.debug({ err: error }, 'dev zts TLS handshake failed');
  });

  const listener = new FrontListener(server);
  const port = await listener.listen(options.port ?? 0, host);
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}${BASE_PATH}`;

  const runtime: DevZtsRuntime = {
    ...viewPolicy(policy, options.certDnsSuffix),
    state,
    instances,
    issuer: options.issuer ?? SERVER_HOST_NAME,
    openIdIssuer: url,
    hostName: SERVER_HOST_NAME,
    url,
  };
  const requests: DevZtsRequest[] = [];
  const faults = new FaultTable((on) => {
    listener.stallHandshakes(on);
  });
  const closed = new AbortController();
  const hooks = {
    record: (entry: DevZtsRequest) => requests.push(entry),
    logger: options.logger,
    faults,
    closed: closed.signal,
  };
  server.on('request', (req, res) => {
    dispatch(req, res, runtime, hooks).catch((error: unknown) => {
      // dispatch answers every failure itself; reaching here is a bug, not a client error.
      options.logger?.error({ err: error }, 'dev zts dispatch failed');
      res.destroy();
    });
  });

  const zts: DevZts = {
    url,
    port,
    caFile: state.caFile,
    jwksUrl: `${url}/oauth2/keys?rfc=true`,
    requests,
    faults,
    handshakesBySerial,
    get handshakes() {
      return handshakes;
    },
    get openConnections() {
      return listener.openConnections;
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
      closed.abort();
      return listener.close();
    },
  };
  instanceStores.set(zts, instances);
  return zts;
}

/** A fresh store, or the one a closed dev ZTS leaves behind for its restart. */
function resumedInstances(previous: DevZts | undefined): InstanceStore {
  if (previous === undefined) {
    return new InstanceStore();
  }
  const store = instanceStores.get(previous);
  if (store === undefined) {
    throw new Error('resumeFrom must be a dev ZTS returned by startDevZts');
  }
  return store;
}
