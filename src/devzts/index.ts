// The dev ZTS: a local Athenz ZTS that speaks the real wire protocol, for tests and demos.

export { startDevZts } from './server.js';
export { loadDevZtsPolicy, parseDevZtsPolicy } from './policy.js';
export type { DevZtsPolicy } from './policy.js';
export type {
  DevZts,
  DevZtsAuthority,
  DevZtsEndpoint,
  DevZtsIdentityFiles,
  DevZtsOptions,
  DevZtsRequest,
} from './types.js';
