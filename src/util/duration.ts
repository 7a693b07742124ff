// Readable durations such as `90m`, `1h30m`, `2s` or `250ms`, as used throughout the config.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

const ORDER = ['d', 'h', 'm', 's', 'ms'];

/**
 * Parses a duration into milliseconds; undefined when the text is not one. Units go from the
 * largest to the smallest, each at most once (`1h30m`, not `30m1h` or `1m1m`).
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') {
    return 0;
  }
  let total = 0;
  let consumed = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  for (let match = PART.exec(text); match !== null; match = PART.exec(text)) {
    const [whole, amount, unit] = match as unknown as [string, string, string];
    const position = ORDER.indexOf(unit);
    if (position <= lastUnit) {
      return undefined;
    }
    lastUnit = position;
    total += Number(amount) * (UNIT_MS[unit] ?? Number.NaN);
    consumed += whole.length;
  }
  if (consumed === 0 || consumed !== text.length || !Number.isSafeInteger(Math.round(total))) {
    return undefined;
  }
  return Math.round(total);
}

/** Formats milliseconds back into the shortest readable form, for messages and logs. */
export function formatDuration(ms: number): string {
  if (ms === 0) {
    return '0s';
  }
  if (ms % 1000 !== 0 || ms < 1000) {
    return `${ms}ms`;
  }
  let rest = ms / 1000;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
