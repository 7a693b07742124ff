// Builds the credential object for a spec: the one place that knows every kind.

import type { CredentialSpec } from '../config/types.js';
import { accessTokenCredential } from './access-token.js';
import type { Credential, CredentialContext } from './credential.js';
import { instanceCredential } from './instance.js';
import { ntokenCredential } from './ntoken-file.js';
import { roleCertCredential } from './role-cert.js';
import { roleTokenCredential } from './role-token.js';

export function createCredential(spec: CredentialSpec, context: CredentialContext): Credential {
  switch (spec.kind) {
    case 'accessToken':
      return accessTokenCredential(spec, context);
    case 'roleToken':
      return roleTokenCredential(spec, context);
    case 'roleCert':
      return roleCertCredential(spec, context);
    case 'instance':
      return instanceCredential(spec, context);
    case 'ntoken':
      return ntokenCredential(spec);
  }
}
