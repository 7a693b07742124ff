import { describe, expect, it } from 'vitest';

import { formatDuration, parseDuration } from '../../src/util/duration.js';

describe('durations', () => {
  it.each([
    ['90m', 5_400_000],
    ['1h30m', 5_400_000],
    ['2h', 7_200_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['1d', 86_400_000],
    ['0', 0],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '5',
    '5 minutes',
    'm5',
    '1h 30m',
    '-1s',
    '1w',
    '1h30',
    ' 30s ',
    '1m1m',
    '30m1h',
    '9999999999999999999d',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats back into the shortest form', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(30_000)).toBe('30s');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});
