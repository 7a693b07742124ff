// The provider side of register and refresh, as a policy provider answers it: confirmInstance
// accepts only listed attestation values, refreshInstance is refused outright when the provider
// does not refresh (like the OSS K8s provider), and the CSR's SAN URIs must be the ones a provider
// vouches for. ZTS turns any refusal into 403 "unable to verify attestation data: ...".

import type { RequestContext } from './context.js';
import type { ParsedCsr } from './csr.js';
import { ZtsHttpError } from './http.js';
import type { Provider } from './providers.js';
import { HOSTNAME_URI, INSTANCE_ID_URI } from './san.js';

export type ProviderStep = 'confirm' | 'refresh';

/** Throws the 403 ZTS answers when the provider refuses the instance. */
export function checkWithProvider(
  ctx: RequestContext,
  provider: Provider,
  step: ProviderStep,
  attestationData: string | undefined,
  csr: ParsedCsr,
  hostname: string | undefined,
): void {
  const refusal = providerRefusal(provider, step, attestationData, csr);
  if (refusal === undefined) {
    return;
  }
  // ZTSImpl.getExceptionMsg; Java writes an absent value as "null".
  const userAgent = ctx.headers['user-agent'] ?? 'null';
  throw new ZtsHttpError(
    403,
    `unable to verify attestation data: ${refusal} client: ${userAgent} ` +
      `clientIP: ${ctx.clientIp} clientHost: ${hostname ?? 'null'}`,
  );
}

function providerRefusal(
  provider: Provider,
  step: ProviderStep,
  attestationData: string | undefined,
  csr: ParsedCsr,
): string | undefined {
  if (step === 'refresh' && !provider.refresh) {
    return `${provider.name} X.509 Certificates cannot be refreshed`;
  }
  // On refresh the current cert is the proof; attestation data is optional but must be valid.
  const attestationNeeded = step === 'confirm' || attestationData !== undefined;
  if (attestationNeeded && !provider.attestation.has(attestationData ?? '')) {
    return `attestation data not accepted by provider ${provider.name}`;
  }
  const instanceUri = `${INSTANCE_ID_URI}${provider.name}/`;
  const foreign = csr.uris.find(
    (uri) =>
      !uri.toLowerCase().startsWith('spiffe://') &&
      !uri.startsWith(instanceUri) &&
      !uri.startsWith(HOSTNAME_URI),
  );
  return foreign === undefined ? undefined : `Unable to validate SAN URI: ${foreign}`;
}
