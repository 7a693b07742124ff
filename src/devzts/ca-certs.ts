// GET /cacerts/{name} (ZTSImpl.getCertificateAuthorityBundle): the CA bundle that clients append
// to their certs or trust. The dev ZTS has one bundle, `default`: its own CA.

import type { RequestContext } from './context.js';
import { ZtsHttpError, jsonReply } from './http.js';
import type { Reply } from './http.js';
import { validate } from './validate.js';

export const CA_BUNDLE_NAME = 'default';

export function getCaCerts(ctx: RequestContext): Reply {
  const { name } = ctx.params;
  validate(name, 'SimpleName');
  const bundle = name.toLowerCase();
  if (bundle !== CA_BUNDLE_NAME) {
    throw new ZtsHttpError(404, `getCertificateAuthorityBundle: No such bundle: ${bundle}`);
  }
  return jsonReply({ name: bundle, certs: ctx.runtime.state.caPem });
}
