// Parameter conversions the way the Java server does them, so odd input meets the same fate:
// Integer.parseInt for numbers, Boolean.parseBoolean for flags.

const INT_MIN = -2_147_483_648;
const INT_MAX = 2_147_483_647;

/** Java Integer.parseInt: optional sign, ASCII digits, 32-bit range; undefined otherwise. */
export function parseJavaInt(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) {
    return undefined;
  }
  const value = Number(text);
  return value >= INT_MIN && value <= INT_MAX ? value : undefined;
}

/** Java Boolean.parseBoolean: `true` in any case is true, anything else false. */
export function parseJavaBoolean(text: string | null | undefined): boolean {
  return text?.toLowerCase() === 'true';
}
