// Subject alternative names of a CSR or certificate, split by kind the way Athenz's Crypto
// extract* helpers return them: DNS names, emails (rfc822), URIs and IP addresses, in order.

import * as x509 from '../x509.js';

export interface SubjectAltNames {
  dnsNames: string[];
  emails: string[];
  uris: string[];
  ips: string[];
}

export function sanOf(extension: x509.Extension | null): SubjectAltNames {
  const names: SubjectAltNames = { dnsNames: [], emails: [], uris: [], ips: [] };
  if (!(extension instanceof x509.SubjectAlternativeNameExtension)) {
    return names;
  }
  for (const { type, value } of extension.names.items) {
    if (type === 'dns') {
      names.dnsNames.push(value);
    } else if (type === 'email') {
      names.emails.push(value);
    } else if (type === 'url') {
      names.uris.push(value);
    } else if (type === 'ip') {
      names.ips.push(value);
    }
  }
  return names;
}

/** The SANs of a DER certificate, e.g. node's `X509Certificate.raw`. */
export function certSans(der: Uint8Array): SubjectAltNames {
  const cert = new x509.X509Certificate(der);
  return sanOf(cert.getExtension(x509.SubjectAlternativeNameExtension));
}

/** The text after `prefix` in the first URI that starts with it (X509CertUtils.extractItemFromURI). */
export function uriItem(uris: readonly string[], prefix: string): string | undefined {
  return uris.find((uri) => uri.startsWith(prefix))?.slice(prefix.length);
}

export const INSTANCE_ID_URI = 'athenz://instanceid/';
export const HOSTNAME_URI = 'athenz://hostname/';
export const PRINCIPAL_URI = 'athenz://principal/';
export const INSTANCE_ID_DNS = '.instanceid.athenz.';

/**
 * X509CertUtils.extractRequestInstanceId: the id in `athenz://instanceid/<provider>/<id>`, else
 * the label before `.instanceid.athenz.` in a DNS name.
 */
export function instanceIdOf(names: SubjectAltNames): string | undefined {
  for (const uri of names.uris) {
    if (uri.startsWith(INSTANCE_ID_URI)) {
      const slash = uri.indexOf('/', INSTANCE_ID_URI.length);
      if (slash !== -1) {
        return uri.slice(slash + 1);
      }
    }
  }
  for (const dnsName of names.dnsNames) {
    const at = dnsName.indexOf(INSTANCE_ID_DNS);
    if (at !== -1) {
      return dnsName.slice(0, at);
    }
  }
  return undefined;
}
