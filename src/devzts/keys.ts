// The ZTS public keys: the JWK set for access tokens (GET /oauth2/keys) and the YBase64-wrapped
// PEM that role-token verifiers fetch (GET /domain/sys.auth/service/zts/publickey/{keyId}).

import { exportJWK } from 'jose';

import { ybase64Encode } from '../athenz/ybase64.js';
import { requirePrincipal } from './context.js';
import type { RequestContext } from './context.js';
import { ZtsHttpError, jsonReply } from './http.js';
import type { Reply } from './http.js';
import { parseJavaBoolean } from './params.js';
import { validate } from './validate.js';

/** The service whose keys sign ZTS tokens. */
const ZTS_DOMAIN = 'sys.auth';
const ZTS_SERVICE = 'zts';

/**
 * `rfc=true` gives RFC 7518 curve names and unsigned coordinates. Without it ZTS keeps its
 * legacy form: OpenSSL curve names and Java BigInteger bytes, which gain a leading 0x00 when the
 * top bit is set, so strict JOSE libraries choke on it.
 */
export async function getJwks(ctx: RequestContext): Promise<Reply> {
  const rfc = parseJavaBoolean(ctx.query.get('rfc'));
  const { signer } = ctx.runtime.state;
  const { x, y } = await exportJWK(signer.publicKey);
  const coordinate = (value: string | undefined): string =>
    rfc ? (value ?? '') : javaBigIntegerBytes(value ?? '');
  return jsonReply({
    keys: [
      {
        kty: 'EC',
        kid: signer.kid,
        alg: 'ES256',
        use: 'sig',
        crv: rfc ? 'P-256' : 'prime256v1',
        x: coordinate(x),
        y: coordinate(y),
      },
    ],
  });
}

/** Needs credentials like every RDL resource that calls authenticate(). */
export function getPublicKey(ctx: RequestContext): Reply {
  requirePrincipal(ctx);
  const { domainName, serviceName, keyId } = ctx.params;
  validate(domainName, 'DomainName');
  validate(serviceName, 'SimpleName');
  const domain = domainName.toLowerCase();
  ctx.note.domain = domain;
  const id = (keyId ?? '').toLowerCase();

  const { signer } = ctx.runtime.state;
  if (domain !== ZTS_DOMAIN || serviceName.toLowerCase() !== ZTS_SERVICE || id !== signer.kid) {
    throw new ZtsHttpError(404, 'Public Key not found');
  }
  return jsonReply({ key: ybase64Encode(Buffer.from(signer.publicKeyPem, 'utf8')), id });
}

function javaBigIntegerBytes(base64url: string): string {
  const bytes = Buffer.from(base64url, 'base64url');
  const signed = (bytes[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return signed.toString('base64url');
}
