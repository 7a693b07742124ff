// When to act next: after a success, from the granted lifetime; after a failure, by backoff.
// Both are pure functions of their inputs and a random source, so tests can pin them.

import type { BackoffPolicy, RefreshPolicy } from '../config/types.js';

export type Random = () => number;

/**
 * Delay from issue to the next refresh: `fraction` of the granted lifetime plus up to `jitter`
 * of it at random (so agents started together drift apart), never less than the floor (so a
 * short grant or a skewed clock cannot cause a refresh loop).
 */
export function refreshDelay(lifetimeMs: number, policy: RefreshPolicy, random: Random): number {
  const lifetime = Math.max(0, lifetimeMs);
  const planned = lifetime * policy.fraction + random() * policy.jitter * lifetime;
  return Math.max(policy.floorMs, Math.round(planned));
}

/**
 * Delay before retry number `failures` (1 for the first): exponential from `initialMs`, capped
 * at `maxMs`, then "equal jitter" (half fixed, half random). The jitter applies after the cap,
 * so agents that hit the cap together still spread out.
 */
export function retryDelay(failures: number, policy: BackoffPolicy, random: Random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  return Math.round(base / 2 + (random() * base) / 2);
}
