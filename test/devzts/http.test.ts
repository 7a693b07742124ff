import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { parseJsonBody, readBody } from '../../src/devzts/http.js';
import { parseAccessTokenForm, urlDecode } from '../../src/devzts/token-form.js';

describe('readBody', () => {
  it('returns the whole body within the limit', async () => {
    const body = await readBody(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), '4', 4);
    expect(body.toString()).toBe('abcd');
  });

  it('refuses a declared length over the limit before reading', async () => {
    await expect(readBody(Readable.from([Buffer.from('x')]), '5', 4)).rejects.toMatchObject({
      status: 400,
      message: 'Request body exceeds 4 bytes',
      headers: { Connection: 'close' },
    });
  });

  it('refuses a streamed body that grows over the limit', async () => {
    const chunks = [Buffer.from('abc'), Buffer.from('def')];
    await expect(readBody(Readable.from(chunks), undefined, 4)).rejects.toMatchObject({
      status: 400,
    });
  });
});

describe('parseJsonBody', () => {
  it('parses JSON and answers malformed JSON with 400', () => {
    expect(parseJsonBody(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    expect(() => parseJsonBody(Buffer.from('{"a":'))).toThrow(
      expect.objectContaining({ status: 400, message: 'Invalid JSON in request body' }),
    );
    expect(() => parseJsonBody(Buffer.alloc(0))).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('urlDecode', () => {
  it('decodes like Java URLDecoder', () => {
    expect(urlDecode('a+b%3Ac')).toBe('a b:c');
    expect(urlDecode('%E2%82%AC')).toBe('€');
    expect(urlDecode('%FF')).toBe('\uFFFD');
    expect(urlDecode('100%')).toBeUndefined();
    expect(urlDecode('%zz')).toBeUndefined();
  });
});

describe('parseAccessTokenForm', () => {
  it('lower-cases grant_type and scope, ignores unknown keys and bare words', () => {
    const form = parseAccessTokenForm(
      'GRANT_TYPE=x&grant_type=Client_Credentials&junk&foo=bar&scope=Sports%3ADomain',
      'demo.agent',
    );
    expect(form).toEqual({
      grantType: 'client_credentials',
      scope: 'sports:domain',
      expiresIn: 0,
      openIdIssuer: false,
      roleInAudClaim: false,
    });
  });

  it('lets the last value win and skips values that do not decode', () => {
    const form = parseAccessTokenForm(
      'expires_in=60&expires_in=90&scope=a%3Arole.b&scope=%zz',
      'a.b',
    );
    expect(form).toMatchObject({ expiresIn: 90, scope: 'a:role.b' });
  });

  it('counts an unparsable expires_in as 0', () => {
    expect(parseAccessTokenForm('expires_in=1h', 'a.b').expiresIn).toBe(0);
  });

  it('refuses proxy_for_principal: 400 when malformed, else 403', () => {
    expect(() => parseAccessTokenForm('proxy_for_principal=a%2Fb', 'a.b')).toThrow(
      expect.objectContaining({ status: 400 }),
    );
    expect(() => parseAccessTokenForm('proxy_for_principal=other.svc', 'a.b')).toThrow(
      expect.objectContaining({
        status: 403,
        message:
          'postAccessTokenRequest: Principal: a.b not authorized for proxy access token request',
      }),
    );
    expect(parseAccessTokenForm('proxy_for_principal=', 'a.b')).toMatchObject({ expiresIn: 0 });
  });

  it('checks proxy principal SPIFFE URIs', () => {
    expect(
      parseAccessTokenForm('proxy_principal_spiffe_uris=spiffe%3A%2F%2FA%2Fsa%2Fb', 'a.b'),
    ).toMatchObject({ proxyPrincipalSpiffeUris: ['spiffe://a/sa/b'] });
    expect(() =>
      parseAccessTokenForm('proxy_principal_spiffe_uris=https%3A%2F%2Fa', 'a.b'),
    ).toThrow(
      expect.objectContaining({ status: 400, message: 'Invalid spiffe uri specified: https://a' }),
    );
  });
});
