// Registered instances, in memory: the dev ZTS's stand-in for the cert record store
// (X509CertRecord). A record is keyed by provider, instance id and service, and remembers the
// serials of the current and the previous cert, so a refresh with any older cert is caught as a
// possible compromise and the instance is revoked (ZTSImpl.getValidatedX509CertRecord).

export interface InstanceRecord {
  readonly provider: string;
  readonly domain: string;
  readonly service: string;
  readonly instanceId: string;
  /** Lower-case hex serials; `-1` once revoked. */
  currentSerial: string;
  prevSerial: string;
}

export const REVOKED_SERIAL = '-1';

export class InstanceStore {
  readonly #records = new Map<string, InstanceRecord>();

  /** Register: a new record, replacing any earlier one for the same instance. */
  put(record: Omit<InstanceRecord, 'prevSerial'>): void {
    this.#records.set(key(record), { ...record, prevSerial: record.currentSerial });
  }

  get(
    provider: string,
    domain: string,
    service: string,
    instanceId: string,
  ): InstanceRecord | undefined {
    return this.#records.get(key({ provider, domain, service, instanceId }));
  }

  delete(provider: string, domain: string, service: string, instanceId: string): boolean {
    return this.#records.delete(key({ provider, domain, service, instanceId }));
  }
}

function key(
  record: Pick<InstanceRecord, 'provider' | 'domain' | 'service' | 'instanceId'>,
): string {
  // NUL cannot appear in any of the names, so the joined key is unambiguous.
  return [record.provider, record.instanceId, `${record.domain}.${record.service}`].join('\0');
}
