// The identity section → how the agent authenticates to ZTS, plus the credential that keeps the
// identity itself fresh when the agent owns it (a registered instance, an N-token file).

import { resolve as resolvePath } from 'node:path';

import type { SpecContext } from './credential-specs.js';
import type { IdentitySpec, InstanceSpec, NTokenSpec } from './types.js';

export function identitySpec(context: SpecContext): {
  identity: IdentitySpec;
  credential: InstanceSpec | NTokenSpec | undefined;
} {
  const { raw, base, outputDir } = context;
  const entry = raw.identity;
  switch (entry.source) {
    case 'files':
      return {
        identity: {
          source: 'files',
          certFile: resolvePath(base, entry.certFile),
          keyFile: resolvePath(base, entry.keyFile),
        },
        credential: undefined,
      };
    case 'register': {
      const principal = `${entry.domain}.${entry.service}`;
      const file = resolvePath(outputDir, entry.certFile);
      const keyFile = resolvePath(outputDir, entry.keyFile);
      const caCertFile = resolvePath(outputDir, entry.caCertFile);
      const credential: InstanceSpec = {
        kind: 'instance',
        id: file,
        name: `service identity ${principal}`,
        domain: entry.domain,
        roles: undefined,
        file,
        keyFile,
        caCertFile,
        files: [keyFile, file, caCertFile],
        mode: raw.output.mode,
        keyMode: raw.output.keyMode,
        groupId: raw.output.groupId,
        provider: entry.provider,
        service: entry.service,
        principal,
        instanceId: entry.instanceId,
        attestationFile: resolvePath(base, entry.attestationFile),
        keyType: entry.keyType,
        expiryMins: entry.expiry === undefined ? undefined : Math.ceil(entry.expiry / 60_000),
        dnsSuffix: entry.dnsSuffix ?? raw.zts.certDnsSuffix,
      };
      return {
        identity: {
          source: 'register',
          certFile: file,
          keyFile,
          instanceId: entry.instanceId,
          principal,
        },
        credential,
      };
    }
    case 'ntoken': {
      const principal = `${entry.domain}.${entry.service}`;
      const keyFile = resolvePath(base, entry.keyFile);
      const identity: IdentitySpec = {
        source: 'ntoken',
        domain: entry.domain,
        service: entry.service,
        principal,
        keyFile,
        keyVersion: entry.keyVersion,
        lifetimeMs: entry.expiry,
      };
      if (entry.file === undefined) {
        return { identity, credential: undefined };
      }
      const file = resolvePath(outputDir, entry.file);
      return {
        identity,
        credential: {
          kind: 'ntoken',
          id: file,
          name: `n-token ${principal}`,
          domain: entry.domain,
          roles: undefined,
          file,
          files: [file],
          mode: raw.output.mode,
          groupId: raw.output.groupId,
          service: entry.service,
          privateKeyFile: keyFile,
          keyVersion: entry.keyVersion,
          lifetimeMs: entry.expiry,
        },
      };
    }
  }
}
