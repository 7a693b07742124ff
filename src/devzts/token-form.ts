// The `/oauth2/token` form body, read the way ZTSImpl.postAccessTokenRequest reads it: split on
// `&`, URL-decode each side (`+` is a space), skip what does not decode, ignore unknown keys.

import { ZtsHttpError, badRequest } from './http.js';
import { parseJavaBoolean, parseJavaInt } from './params.js';
import { validate } from './validate.js';

export interface AccessTokenForm {
  /** Lower-cased. */
  grantType?: string;
  /** Lower-cased. */
  scope?: string;
  /** Seconds; 0 when absent or unparsable, which means the server default. */
  expiresIn: number;
  authorizationDetails?: string;
  /** Stored in `cnf` when the caller used mTLS. */
  proxyPrincipalSpiffeUris?: string[];
  /** `openid_issuer=true`: use the OpenID issuer (a URL) as `iss`. */
  openIdIssuer: boolean;
  /** `role_in_aud_claim=true`: `aud` becomes `<domain>:<role>` when one role is granted. */
  roleInAudClaim: boolean;
}

/**
 * Parses the body. Like upstream, `proxy_for_principal` is checked while parsing: the dev ZTS
 * has no `authorized_proxy_users`, so any caller asking for it gets 403.
 */
export function parseAccessTokenForm(body: string, principal: string): AccessTokenForm {
  const form: AccessTokenForm = { expiresIn: 0, openIdIssuer: false, roleInAudClaim: false };
  for (const component of body.split('&')) {
    const at = component.indexOf('=');
    const key = at === -1 ? undefined : urlDecode(component.slice(0, at));
    const value = at === -1 ? undefined : urlDecode(component.slice(at + 1));
    if (key === undefined || value === undefined) {
      continue;
    }
    switch (key) {
      case 'grant_type':
        form.grantType = value.toLowerCase();
        break;
      case 'scope':
        form.scope = value.toLowerCase();
        break;
      case 'expires_in':
        form.expiresIn = parseJavaInt(value) ?? 0;
        break;
      case 'proxy_for_principal':
        checkProxyForPrincipal(value.toLowerCase(), principal);
        break;
      case 'authorization_details':
        form.authorizationDetails = value;
        break;
      case 'proxy_principal_spiffe_uris':
        form.proxyPrincipalSpiffeUris = parseSpiffeUris(value.toLowerCase());
        break;
      case 'openid_issuer':
        form.openIdIssuer = parseJavaBoolean(value);
        break;
      case 'role_in_aud_claim':
        form.roleInAudClaim = parseJavaBoolean(value);
        break;
    }
  }
  return form;
}

/**
 * Java URLDecoder.decode with UTF-8: `+` is a space, `%XX` are bytes, invalid UTF-8 becomes
 * U+FFFD, and a malformed escape makes the whole value undecodable (undefined).
 */
export function urlDecode(text: string): string | undefined {
  if (/%(?![0-9a-fA-F]{2})/.test(text)) {
    return undefined;
  }
  const bytes: Buffer[] = [];
  const pattern = /%([0-9a-fA-F]{2})|[^%]+/g;
  for (const match of text.replaceAll('+', ' ').matchAll(pattern)) {
    const hex = match[1];
    bytes.push(
      hex === undefined ? Buffer.from(match[0], 'utf8') : Buffer.from([parseInt(hex, 16)]),
    );
  }
  return Buffer.concat(bytes).toString('utf8');
}

function checkProxyForPrincipal(proxy: string, principal: string): void {
  if (proxy === '') {
    return;
  }
  validate(proxy, 'EntityName');
  throw new ZtsHttpError(
    403,
    `postAccessTokenRequest: Principal: ${principal} not authorized for proxy access token request`,
  );
}

function parseSpiffeUris(value: string): string[] | undefined {
  if (value === '') {
    return undefined;
  }
  const uris = value.split(',').map((uri) => uri.trim());
  for (const uri of uris) {
    if (!uri.startsWith('spiffe://') || !URL.canParse(uri)) {
      throw badRequest(`Invalid spiffe uri specified: ${uri}`);
    }
  }
  return uris;
}
