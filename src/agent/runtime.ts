// What the agent's credentials share: the identity, the anonymous transport and the ZTS client.
// Built from the `zts` and `identity` sections; a change to either builds a new one.

import type { ResolvedConfig } from '../config/types.js';
import type { CredentialContext } from '../credentials/credential.js';
import { AnonymousTransport } from '../identity/anonymous-transport.js';
import { FileIdentity } from '../identity/file-identity.js';
import type { Identity } from '../identity/identity.js';
import { NTokenIdentity } from '../identity/ntoken-identity.js';
import type { Logger } from '../logger.js';
import { ZtsClient } from '../zts/client.js';

export interface Runtime {
  identity: Identity;
  fileIdentity: FileIdentity | undefined;
  context: CredentialContext;
  close(): Promise<void>;
}

export function buildRuntime(config: ResolvedConfig, logger: Logger): Runtime {
  const connection = {
    connectTimeoutMs: config.zts.connectTimeoutMs,
    requestTimeoutMs: config.zts.requestTimeoutMs,
    maxConnections: config.zts.maxConnections,
  };
  const identityLogger = logger.child({ module: 'identity' });
  const anonymous = new AnonymousTransport(config.zts.caFile, connection);

  const spec = config.identity;
  let identity: Identity;
  let fileIdentity: FileIdentity | undefined;
  if (spec.source === 'ntoken') {
    identity = new NTokenIdentity(spec, anonymous, identityLogger);
  } else {
    fileIdentity = new FileIdentity(
      { certFile: spec.certFile, keyFile: spec.keyFile, caFile: config.zts.caFile },
      connection,
      identityLogger,
      spec.source === 'register'
        ? `waiting for the instance registration of ${spec.principal} to write ${spec.certFile}`
        : undefined,
    );
    identity = fileIdentity;
  }

  const zts = new ZtsClient({
    baseUrl: config.zts.url,
    identity,
    anonymous,
    requestTimeoutMs: config.zts.requestTimeoutMs,
  });
  return {
    identity,
    fileIdentity,
    context: {
      zts,
      identity,
      fileIdentity,
      logger: logger.child({ module: 'credentials' }),
    },
    close: async () => {
      await identity.close();
      await anonymous.close();
    },
  };
}

/** The part of a config that a runtime is built from: when it changes, the runtime must too. */
export function runtimeKey(config: ResolvedConfig): string {
  return JSON.stringify({ zts: config.zts, identity: config.identity });
}
