import { describe, expect, it } from 'vitest';

import {
  SIGNER_MAX_EXPIRY_MS,
  roleCertLifetimeMs,
  serviceCertLifetimeMs,
} from '../../src/devzts/cert-lifetime.js';

const MIN = 60_000;

describe('roleCertLifetimeMs', () => {
  it('uses the policy cap, which a positive request can only shorten', () => {
    expect(roleCertLifetimeMs(10 * MIN, 0)).toBe(10 * MIN);
    expect(roleCertLifetimeMs(10 * MIN, 5)).toBe(5 * MIN);
    expect(roleCertLifetimeMs(10 * MIN, 10)).toBe(10 * MIN);
    expect(roleCertLifetimeMs(10 * MIN, 60)).toBe(10 * MIN);
    expect(roleCertLifetimeMs(10 * MIN, -5)).toBe(10 * MIN);
  });

  it('keeps sub-minute caps, and falls back to the signer max of 30 days', () => {
    expect(roleCertLifetimeMs(1500, 1)).toBe(1500);
    expect(roleCertLifetimeMs(0, 90)).toBe(90 * MIN);
    expect(roleCertLifetimeMs(0, 0)).toBe(SIGNER_MAX_EXPIRY_MS);
    expect(roleCertLifetimeMs(0, 50_000)).toBe(SIGNER_MAX_EXPIRY_MS);
    expect(SIGNER_MAX_EXPIRY_MS).toBe(43_200 * MIN);
  });
});

describe('serviceCertLifetimeMs', () => {
  const week = 7 * 1440 * MIN;

  it('takes the smaller of request and provider cap, the provider cap when none is asked', () => {
    expect(serviceCertLifetimeMs(week, undefined, 0)).toBe(week);
    expect(serviceCertLifetimeMs(week, -1, 0)).toBe(week);
    expect(serviceCertLifetimeMs(week, 60, 0)).toBe(60 * MIN);
    expect(serviceCertLifetimeMs(week, 20_000, 0)).toBe(week);
    expect(serviceCertLifetimeMs(0, 60, 0)).toBe(60 * MIN);
  });

  it('treats a request of 0 as "signer default", as upstream does', () => {
    expect(serviceCertLifetimeMs(week, 0, 0)).toBe(SIGNER_MAX_EXPIRY_MS);
    expect(serviceCertLifetimeMs(0, undefined, 0)).toBe(SIGNER_MAX_EXPIRY_MS);
  });

  it('caps everything by the domain serviceCertExpiry', () => {
    expect(serviceCertLifetimeMs(week, undefined, 120 * MIN)).toBe(120 * MIN);
    expect(serviceCertLifetimeMs(week, 0, 120 * MIN)).toBe(120 * MIN);
    expect(serviceCertLifetimeMs(week, 30, 120 * MIN)).toBe(30 * MIN);
    expect(serviceCertLifetimeMs(0, undefined, 2500)).toBe(2500);
  });
});
