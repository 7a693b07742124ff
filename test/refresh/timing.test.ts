import { describe, expect, it } from 'vitest';

import type { RefreshPolicy } from '../../src/config/types.js';
import { refreshDelay, retryDelay } from '../../src/refresh/timing.js';

const policy: RefreshPolicy = {
  fraction: 0.5,
  jitter: 0.1,
  floorMs: 30_000,
  backoff: { initialMs: 1000, maxMs: 30_000 },
  refusedBackoff: { initialMs: 30_000, maxMs: 600_000 },
};

describe('refresh timing', () => {
  it('refreshes at the fraction of the granted lifetime, plus up to the jitter', () => {
    expect(refreshDelay(3_600_000, policy, () => 0)).toBe(1_800_000);
    expect(refreshDelay(3_600_000, policy, () => 0.999_999)).toBe(2_160_000);
  });

  it('never refreshes sooner than the floor, however short the grant', () => {
    expect(refreshDelay(10_000, policy, () => 0.5)).toBe(30_000);
    expect(refreshDelay(-5000, policy, () => 0.5)).toBe(30_000);
  });

  it('spreads agents that got the same lifetime at the same moment', () => {
    const delays = Array.from({ length: 200 }, () =>
      refreshDelay(120_000 * 10, policy, Math.random),
    );
    const spread = Math.max(...delays) - Math.min(...delays);
    // jitter 0.1 of a 20-minute lifetime is 2 minutes; 200 draws cover most of it.
    expect(spread).toBeGreaterThan(0.08 * 1_200_000);
  });
});

describe('retry backoff', () => {
  it('doubles from the initial delay and stops growing at the cap', () => {
    const upper = (n: number) => retryDelay(n, policy.backoff, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(upper)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('keeps jitter at the cap, so agents capped together still spread out', () => {
    expect(retryDelay(50, policy.backoff, () => 0)).toBe(15_000);
    expect(retryDelay(50, policy.backoff, () => 1)).toBe(30_000);
  });

  it('waits far longer after refusals than after transient faults', () => {
    expect(retryDelay(1, policy.refusedBackoff, () => 0)).toBeGreaterThanOrEqual(
      retryDelay(1, policy.backoff, () => 1) * 10,
    );
  });
});
