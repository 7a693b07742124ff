// Input checks against the RDL types, with the status and message of ZTSImpl.validate().

import { COMPOUND_NAME, SIMPLE_NAME } from '../athenz/names.js';
import { badRequest } from './http.js';

export type RdlType =
  'DomainName' | 'EntityName' | 'EntityList' | 'ServiceName' | 'SimpleName' | 'PathElement';

const ENTITY_LIST = new RegExp(
  `^(${COMPOUND_NAME.source.slice(1, -1)},)*${COMPOUND_NAME.source.slice(1, -1)}$`,
);

/** PathElement: instance ids. */
const PATH_ELEMENT = /^[a-zA-Z0-9\-._~=+@$,:]*$/;

export const PATTERNS: Readonly<Record<RdlType, RegExp>> = {
  DomainName: COMPOUND_NAME,
  EntityName: COMPOUND_NAME,
  EntityList: ENTITY_LIST,
  ServiceName: COMPOUND_NAME,
  SimpleName: SIMPLE_NAME,
  PathElement: PATH_ELEMENT,
};

/** Throws 400 unless `value` matches the RDL type, like ZTSImpl.validate(). */
export function validate(value: string | undefined, type: RdlType): asserts value is string {
  if (value === undefined) {
    throw badRequest(`Missing or malformed ${type}`);
  }
  if (!PATTERNS[type].test(value)) {
    throw badRequest(`Invalid ${type} error: ${JSON.stringify(value)} does not match ${type}`);
  }
}
