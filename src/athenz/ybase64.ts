// YBase64 (Athenz auth_core util/YBase64): standard Base64 with `+` → `.`, `/` → `_` and the
// `=` pad → `-`. It is not base64url, which is a different alphabet and drops the padding.

export function ybase64Encode(data: Uint8Array): string {
  return Buffer.from(data)
    .toString('base64')
    .replaceAll('+', '.')
    .replaceAll('/', '_')
    .replaceAll('=', '-');
}

export function ybase64Decode(text: string): Buffer {
  return Buffer.from(text.replaceAll('.', '+').replaceAll('_', '/').replaceAll('-', '='), 'base64');
}
