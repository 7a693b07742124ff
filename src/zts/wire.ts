// Wire shapes of the ZTS answers the agent reads (core/zts RDL). Extra fields are allowed, since
// ZTS may add optional ones; missing or mistyped required ones make the answer unusable.

import * as z from 'zod';

/** AccessTokenResponse (OAuth.tdl): snake_case, `scope` only for `:domain` or partial grants. */
export const accessTokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().int().optional(),
  scope: z.string().optional(),
  id_token: z.string().optional(),
});
export type AccessTokenResponse = z.output<typeof accessTokenResponse>;

/** RoleToken (Token.tdl): expiryTime in epoch seconds. */
export const roleTokenResponse = z.looseObject({
  token: z.string().min(1),
  expiryTime: z.number().int(),
});
export type RoleTokenResponse = z.output<typeof roleTokenResponse>;

/** ResourceError body: `{code, message}`. */
export const errorBody = z.looseObject({
  code: z.number().int().optional(),
  message: z.string().optional(),
});

/** RoleCertificate (RoleCert.tdl): the leaf PEM only, no chain. */
export const roleCertificateResponse = z.looseObject({
  x509Certificate: z.string().min(1),
});
export type RoleCertificateResponse = z.output<typeof roleCertificateResponse>;

/** InstanceIdentity (Instance.tdl), as register and refresh return it. */
export const instanceIdentityResponse = z.looseObject({
  provider: z.string().optional(),
  name: z.string(),
  instanceId: z.string().optional(),
  x509Certificate: z.string().min(1),
  x509CertificateSigner: z.string().optional(),
});
export type InstanceIdentityResponse = z.output<typeof instanceIdentityResponse>;

/** CertificateAuthorityBundle: `{name, certs}` with the PEM bundle. */
export const caBundleResponse = z.looseObject({
  name: z.string(),
  certs: z.string().min(1),
});
