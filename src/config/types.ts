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
  /** The main output file (the certificate, for certificate kinds). */
  file: string;
  /** Every output file, in the order they are written. */
  files: readonly string[];
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

export interface RoleCertSpec extends CredentialBase {
  kind: 'roleCert';
  role: string;
  keyType: 'ec' | 'rsa';
  /** Requested lifetime in minutes, as ZTS takes it; undefined lets ZTS choose. */
  expiryMins: number | undefined;
  keyFile: string;
  keyMode: number;
  /** Name of the CA bundle (GET /cacerts/{name}) appended to the certificate file. */
  appendCaBundle: string | undefined;
  pkcs12: { file: string; passwordFile: string } | undefined;
  /** `athenz.zts.cert_dns_suffix` of the ZTS, for the CSR's email and DNS names. */
  dnsSuffix: string;
}

/** The service identity certificate, obtained by instance registration and refreshed. */
export interface InstanceSpec extends CredentialBase {
  kind: 'instance';
  provider: string;
  service: string;
  /** `<domain>.<service>`. */
  principal: string;
  instanceId: string;
  attestationFile: string;
  keyType: 'ec' | 'rsa';
  expiryMins: number | undefined;
  dnsSuffix: string;
  keyFile: string;
  keyMode: number;
  caCertFile: string;
}

/** An N-token signed locally with the service key and written to a file. */
export interface NTokenSpec extends CredentialBase {
  kind: 'ntoken';
  service: string;
  privateKeyFile: string;
  keyVersion: string;
  lifetimeMs: number;
}

export type CredentialSpec =
  AccessTokenSpec | RoleTokenSpec | RoleCertSpec | InstanceSpec | NTokenSpec;

export type IdentitySpec =
  | { source: 'files'; certFile: string; keyFile: string }
  /** The agent registers itself; the identity files are the instance credential's outputs. */
  | { source: 'register'; certFile: string; keyFile: string; instanceId: string; principal: string }
  | {
      source: 'ntoken';
      domain: string;
      service: string;
      principal: string;
      keyFile: string;
      keyVersion: string;
      lifetimeMs: number;
    };

export interface ResolvedConfig {
  /** Where the config came from, and a hash of its bytes to skip no-op reloads. */
  source: { path: string; sha256: string };
  zts: {
    url: string;
    caFile: string;
    connectTimeoutMs: number;
    requestTimeoutMs: number;
    maxConnections: number;
    certDnsSuffix: string;
  };
  identity: IdentitySpec;
  output: { dir: string; mode: number; keyMode: number; groupId: number | undefined };
  refresh: RefreshPolicy;
  credentials: readonly CredentialSpec[];
  health: { host: string; port: number; stuckAfterMs: number };
  /** How config changes are picked up (read at start; not itself reloaded). */
  reload: { watch: boolean; intervalMs: number; debounceMs: number };
  log: { level: string };
}
