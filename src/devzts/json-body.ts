// The JSON request structs of the cert and instance APIs (RoleCert.tdl, Instance.rdli), checked the
// way ZTS does: malformed JSON gets 400 (JsonParseExceptionMapper), a missing body gets "Missing or
// malformed <Type>", a field of the wrong type or grammar gets "Invalid <Type> error: ...".
// Unknown fields are ignored. Int64 `expiryTime` is a Java primitive, so absent means 0.

import { z } from 'zod';

import { badRequest, parseJsonBody } from './http.js';
import { PATTERNS } from './validate.js';
import type { RdlType } from './validate.js';

function name(type: RdlType) {
  return z.string().regex(PATTERNS[type], { error: `does not match ${type}` });
}

const roleCertificateRequest = z.object({
  csr: z.string(),
  proxyForPrincipal: name('EntityName').optional(),
  expiryTime: z.int().default(0),
  prevCertNotBefore: z.string().optional(),
  prevCertNotAfter: z.string().optional(),
  x509CertSignerKeyId: name('SimpleName').optional(),
});

const instanceRefreshInformation = z.object({
  attestationData: z.string().optional(),
  csr: z.string().optional(),
  ssh: z.string().optional(),
  token: z.boolean().optional(),
  expiryTime: z.int32().optional(),
  hostname: name('DomainName').optional(),
  hostCnames: z.array(name('DomainName')).optional(),
  athenzJWK: z.boolean().optional(),
  namespace: name('SimpleName').optional(),
  cloud: name('SimpleName').optional(),
  x509CertSignerKeyId: name('SimpleName').optional(),
});

const instanceRegisterInformation = instanceRefreshInformation.extend({
  provider: name('ServiceName'),
  domain: name('DomainName'),
  service: name('SimpleName'),
  attestationData: z.string(),
  csr: z.string(),
  /** Used when the CSR carries no instance id (newer ZTS releases). */
  x509CertInstanceId: name('PathElement').optional(),
});

export type RoleCertificateRequest = z.output<typeof roleCertificateRequest>;
export type InstanceRegisterInformation = z.output<typeof instanceRegisterInformation>;
export type InstanceRefreshInformation = z.output<typeof instanceRefreshInformation>;

export function readRoleCertificateRequest(body: Buffer): RoleCertificateRequest {
  return readStruct(body, 'RoleCertificateRequest', roleCertificateRequest);
}

export function readInstanceRegisterInformation(body: Buffer): InstanceRegisterInformation {
  return readStruct(body, 'InstanceRegisterInformation', instanceRegisterInformation);
}

export function readInstanceRefreshInformation(body: Buffer): InstanceRefreshInformation {
  return readStruct(body, 'InstanceRefreshInformation', instanceRefreshInformation);
}

function readStruct<T extends z.ZodType>(body: Buffer, type: string, schema: T): z.output<T> {
  // JAX-RS hands an empty body to the resource as a null struct.
  const json = body.length === 0 ? null : parseJsonBody(body);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw badRequest(`Missing or malformed ${type}`);
  }
  const result = schema.safeParse(json, { reportInput: true });
  if (!result.success) {
    const [issue] = result.error.issues;
    if (issue === undefined) {
      throw badRequest(`Invalid ${type} error: invalid`);
    }
    const problem = issue.input === undefined ? 'missing' : issue.message;
    throw badRequest(
      `Invalid ${type} error: ${type}.${issue.path.map(String).join('.')}: ${problem}`,
    );
  }
  return result.data;
}
