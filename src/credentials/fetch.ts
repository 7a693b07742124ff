// Dispatches a credential spec to the code that knows how to fetch its kind.

import type { CredentialSpec } from '../config/types.js';
import type { ZtsClient } from '../zts/client.js';
import { fetchAccessToken } from './access-token.js';
import type { IssuedCredential } from './issued.js';
import { fetchRoleToken } from './role-token.js';

export function fetchCredential(
  spec: CredentialSpec,
  zts: ZtsClient,
  signal: AbortSignal,
): Promise<IssuedCredential> {
  switch (spec.kind) {
    case 'accessToken':
      return fetchAccessToken(spec, zts, signal);
    case 'roleToken':
      return fetchRoleToken(spec, zts, signal);
  }
}
