// A PKCS#10 CSR read the way X509CertRequest's constructor reads it: parse, then extract the CN,
// the SANs, the one SPIFFE URI (two are refused), the athenz://hostname/ value and the instance id.
// The dev ZTS also checks the CSR's signature, so a request built for another key cannot pass.

import * as x509 from '../x509.js';
import { HOSTNAME_URI, instanceIdOf, sanOf, uriItem } from './san.js';
import type { SubjectAltNames } from './san.js';

/** Why a CSR is unusable; handlers prefix it the way their upstream method does. */
export class CsrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsrError';
  }
}

export interface ParsedCsr extends SubjectAltNames {
  readonly request: x509.Pkcs10CertificateRequest;
  /** The first CN of the subject, as written (not lower-cased). */
  readonly cn: string | undefined;
  /** The only `spiffe://` URI, if any. */
  readonly spiffeUri: string | undefined;
  /** The value of an `athenz://hostname/` URI. */
  readonly uriHostname: string | undefined;
  /** From `athenz://instanceid/<provider>/<id>`, else from `<id>.instanceid.athenz.<suffix>`. */
  readonly instanceId: string | undefined;
  /** The SAN extension as requested, copied as-is into the issued cert. */
  readonly sanExtension: x509.Extension | undefined;
}

const CSR_PEM = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----/;
const SPIFFE_PREFIX = 'spiffe://';

export async function parseCsr(pem: string): Promise<ParsedCsr> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    if (!CSR_PEM.test(pem)) {
      throw new Error('not a PEM CSR');
    }
    request = new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw new CsrError('Invalid csr provided');
  }
  if (!(await signatureVerifies(request))) {
    throw new CsrError('CSR signature does not verify');
  }

  const sanExtension = request.extensions.find(
    (extension) => extension instanceof x509.SubjectAlternativeNameExtension,
  );
  const names = sanOf(sanExtension ?? null);
  const spiffe = names.uris.filter((uri) => uri.toLowerCase().startsWith(SPIFFE_PREFIX));
  if (spiffe.length > 1) {
    throw new CsrError('Invalid SPIFFE URI present in CSR');
  }
  return {
    request,
    ...names,
    cn: request.subjectName.getField('CN')[0],
    spiffeUri: spiffe[0],
    uriHostname: uriItem(names.uris, HOSTNAME_URI),
    instanceId: instanceIdOf(names),
    sanExtension,
  };
}

async function signatureVerifies(request: x509.Pkcs10CertificateRequest): Promise<boolean> {
  try {
    return await request.verify();
  } catch {
    return false;
  }
}
