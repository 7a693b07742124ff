// The Athenz names a certificate carries: the common name (a principal `<domain>.<service>` or a
// role `<domain>:role.<role>`) and the instance id of service certificates, from the
// `athenz://instanceid/<provider>/<id>` SAN URI (X509CertUtils: the URI takes precedence over the
// DNS form).

import type { X509Certificate } from 'node:crypto';

const INSTANCE_ID_URI = /URI:athenz:\/\/instanceid\/[^/,\s]+\/([^,\s]+)/;

/** The subject's CN, lower-cased as ZTS compares names; undefined when there is none. */
export function commonNameOf(cert: X509Certificate): string | undefined {
  return /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1]?.toLowerCase();
}

export function instanceIdOf(cert: X509Certificate): string | undefined {
  return INSTANCE_ID_URI.exec(cert.subjectAltName ?? '')?.[1];
}
