// Certificate signing requests, built with @peculiar/x509 (node-forge cannot sign EC CSRs).

import type { KeyObject } from 'node:crypto';

import * as x509 from '../x509.js';
import { toSigningKeys } from './keys.js';

export interface CsrContent {
  commonName: string;
  /** Extra subject attributes, e.g. OU = the provider for service certificates. */
  organizationalUnit?: string;
  dns?: readonly string[];
  uris?: readonly string[];
  emails?: readonly string[];
}

/** A PEM PKCS#10 request signed by `key` (SHA-256 with ECDSA or RSA PKCS#1 v1.5). */
export async function buildCsr(key: KeyObject, content: CsrContent): Promise<string> {
  const signing = await toSigningKeys(key);
  const names: x509.JsonGeneralNames = [
    ...(content.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(content.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(content.emails ?? []).map((value) => ({ type: 'email' as const, value })),
  ];
  const subject: x509.JsonName = [{ CN: [content.commonName] }];
  if (content.organizationalUnit !== undefined) {
    subject.push({ OU: [content.organizationalUnit] });
  }
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys: signing.keys,
    signingAlgorithm: signing.signingAlgorithm,
    extensions: names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)],
  });
  return csr.toString('pem');
}

/** `sports.prod` → `sports-prod`, as Athenz writes domains inside DNS names. */
export function domainToDns(domain: string): string {
  return domain.replaceAll('.', '-');
}
