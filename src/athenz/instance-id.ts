// The instance id Athenz puts in service certificates: the `athenz://instanceid/<provider>/<id>`
// SAN URI (X509CertUtils: the URI takes precedence over the DNS form).

import type { X509Certificate } from 'node:crypto';

const INSTANCE_ID_URI = /URI:athenz:\/\/instanceid\/[^/,\s]+\/([^,\s]+)/;

export function instanceIdOf(cert: X509Certificate): string | undefined {
  return INSTANCE_ID_URI.exec(cert.subjectAltName ?? '')?.[1];
}
