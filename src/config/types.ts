// The resolved config: every default applied, every path absolute, every credential with its
// file. Frozen, and a separate type from the raw schema output, so code past the loader never
// sees an optional that should have been defaulted.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export interface RefreshPolicy {
  /** Refresh once this fraction of the granted lifetime has passed. */
  fraction: number;
  /** Up to this fraction of the lifetime is added at random, to spread many agents apart. */
  jitter: number;
  /** Never refresh one credential sooner than this after the last fetch. */
  floorMs: number;
  /** Delays between attempts after errors that may clear up (network, 5xx, 429). */
  backoff: BackoffPolicy;
  /** Delays after refusals (400, 401, 403, 404), which will not clear up soon. */
  refusedBackoff: BackoffPolicy;
}

interface CredentialBase {
  /** Unique key of this credential: its (first) output file's absolute path. */
  id: string;
  /** A readable name for logs and readiness, e.g. `access token sports:role.reader`. */
  name: string;
  domain: string;
  /** Requested roles; undefined asks for every role the identity holds in the domain. */
  roles: readonly string[] | undefined;
  file: string;
  mode: number;
  groupId: number | undefined;
}

export interface AccessTokenSpec extends CredentialBase {
  kind: 'accessToken';
  /** Requested lifetime in seconds; undefined lets ZTS choose. */
  expiresInSec: number | undefined;
  format: 'jwt' | 'json';
}

export interface RoleTokenSpec extends CredentialBase {
  kind: 'roleToken';
  minExpirySec: number | undefined;
  maxExpirySec: number | undefined;
}

export type CredentialSpec = AccessTokenSpec | RoleTokenSpec;

export interface ResolvedConfig {
  /** Where the config came from, and a hash of its bytes to skip no-op reloads. */
  source: { path: string; sha256: string };
  zts: {
    url: string;
    caFile: string;
    connectTimeoutMs: number;
    requestTimeoutMs: number;
    maxConnections: number;
  };
  identity: { source: 'files'; certFile: string; keyFile: string };
  output: { dir: string; mode: number; groupId: number | undefined };
  refresh: RefreshPolicy;
  credentials: readonly CredentialSpec[];
  health: { host: string; port: number; stuckAfterMs: number };
  log: { level: string };
}
