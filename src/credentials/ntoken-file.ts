// An N-token written to a file for apps that send Athenz-Principal-Auth themselves. Signed
// locally with the service key; no ZTS request.

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

import { parsePrincipalToken, signPrincipalToken } from '../athenz/principal-token.js';
import { verifyToken } from '../athenz/signed-token.js';
import type { NTokenSpec } from '../config/types.js';
import { IdentityError, describeCause } from '../errors.js';
import type { Credential } from './credential.js';
import { readIfPresent, restoredCredential } from './issued.js';

export function ntokenCredential(spec: NTokenSpec): Credential {
  const output = (token: string) => ({
    path: spec.file,
    content: Buffer.from(token),
    mode: spec.mode,
    groupId: spec.groupId,
  });
  return {
    spec,
    async fetch() {
      let key;
      try {
        key = createPrivateKey(await readFile(spec.privateKeyFile));
      } catch (error) {
        throw new IdentityError(
          `cannot use the service key ${spec.privateKeyFile}: ${describeCause(error)}`,
          error,
        );
      }
      const now = Date.now();
      const issuedAt = Math.floor(now / 1000);
      const expiresAt = issuedAt + Math.floor(spec.lifetimeMs / 1000);
      const token = signPrincipalToken(
        {
          domain: spec.domain,
          service: spec.service,
          keyId: spec.keyVersion,
          host: hostname(),
          issuedAt,
          expiresAt,
        },
        key,
      );
      return {
        files: [output(token)],
        expiresAt: expiresAt * 1000,
        issuedAt: now,
        lifetimeMs: expiresAt * 1000 - now,
        details: { keyVersion: spec.keyVersion },
      };
    },
    async restore() {
      const token = (await readIfPresent(spec.file))?.toString('utf8');
      const claims = token === undefined ? undefined : parsePrincipalToken(token);
      if (
        token === undefined ||
        claims === undefined ||
        claims.domain !== spec.domain ||
        claims.service !== spec.service ||
        claims.keyId !== spec.keyVersion
      ) {
        return undefined;
      }
      // Signed with the key the service has now? A key rotated while the agent was down makes
      // the old token useless.
      try {
        const key = createPublicKey(createPrivateKey(await readFile(spec.privateKeyFile)));
        if (!verifyToken(token, key)) {
          return undefined;
        }
      } catch {
        return undefined;
      }
      return restoredCredential([output(token)], claims.expiresAt * 1000, {
        keyVersion: spec.keyVersion,
      });
    },
  };
}
