// The dev ZTS: a local Athenz ZTS that speaks the real wire protocol, for tests and demos.

export { startDevZts } from './server.js';
export { READ_ONLY_MESSAGE } from './faults.js';
export { loadDevZtsPolicy, parseDevZtsPolicy } from './policy.js';
export type { DevZtsPolicy } from './policy.js';
export type {
  DevZts,
  DevZtsAuthority,
  DevZtsEndpoint,
  DevZtsFault,
  DevZtsFaultMatch,
  DevZtsFaultOptions,
  DevZtsFaults,
  DevZtsIdentityFiles,
  DevZtsOptions,
  DevZtsRequest,
} from './types.js';
