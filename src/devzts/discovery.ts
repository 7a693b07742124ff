// Unauthenticated service metadata: GET /status and GET /.well-known/openid-configuration.

import type { RequestContext } from './context.js';
import { jsonReply } from './http.js';
import type { Reply } from './http.js';

export function getStatus(): Reply {
  return jsonReply({ code: 200, message: 'OK' });
}

/** A minimal OpenIDConfig; `jwks_uri` already asks for RFC curve names, as upstream's does. */
export function getOpenIdConfig(ctx: RequestContext): Reply {
  const { url, openIdIssuer } = ctx.runtime;
  return jsonReply({
    issuer: openIdIssuer,
    authorization_endpoint: `${url}/oauth2/auth`,
    jwks_uri: `${url}/oauth2/keys?rfc=true`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
  });
}
