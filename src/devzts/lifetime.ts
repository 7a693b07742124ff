// Token lifetime, shared by access and role tokens (ZTSImpl determineTokenTimeout). Seconds.

/** `athenz.zts.role_token_default_timeout`: 2 h. */
export const DEFAULT_TOKEN_TIMEOUT_S = 7200;

/** `athenz.zts.role_token_max_timeout`: 30 d. */
export const MAX_TOKEN_TIMEOUT_S = 2_592_000;

export interface LifetimeRequest {
  /** Role token `minExpiryTime`; access tokens have none. */
  minExpiryTime?: number | undefined;
  /** Role token `maxExpiryTime`, or the access token `expires_in`. */
  maxExpiryTime?: number | undefined;
}

/**
 * A positive max is used as given; else a min above the default; else the default. Then the
 * server max applies, then the policy cap (role, else domain). There is no minimum.
 */
export function determineTokenTimeout(request: LifetimeRequest, capSeconds?: number): number {
  const { minExpiryTime, maxExpiryTime } = request;
  let timeout = DEFAULT_TOKEN_TIMEOUT_S;
  if (maxExpiryTime !== undefined && maxExpiryTime > 0) {
    timeout = maxExpiryTime;
  } else if (minExpiryTime !== undefined && minExpiryTime > DEFAULT_TOKEN_TIMEOUT_S) {
    timeout = minExpiryTime;
  }

  timeout = Math.min(timeout, MAX_TOKEN_TIMEOUT_S);
  if (capSeconds !== undefined && capSeconds > 0 && capSeconds < timeout) {
    timeout = capSeconds;
  }
  return timeout;
}
