// Number formatting for energy tables: SI prefixes on joules and on operation counts.

/** Joules to millijoules (the unit the SAD paper reports). */
export function toMillijoules(joules: number): number {
  return joules * 1e3;
}

const JOULE_UNITS: readonly [number, string][] = [
  [1, 'J'],
  [1e-3, 'mJ'],
  [1e-6, 'µJ'],
  [1e-9, 'nJ'],
  [1e-12, 'pJ'],
];

/** `0.04692` → `46.92 mJ`: the largest unit that keeps the value ≥ 1, four significant digits. */
export function formatJoules(joules: number, significant = 4): string {
  if (joules === 0) return '0 J';
  if (!Number.isFinite(joules)) return `${joules} J`;
  const abs = Math.abs(joules);
  for (const [scale, unit] of JOULE_UNITS) {
    if (abs >= scale) return `${trim((joules / scale).toPrecision(significant))} ${unit}`;
  }
  return `${trim((joules / 1e-12).toPrecision(significant))} pJ`;
}

const COUNT_UNITS: readonly [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** `2.556e12` → `2.556 T`. */
export function formatCount(count: number, significant = 4): string {
  const abs = Math.abs(count);
  for (const [scale, unit] of COUNT_UNITS) {
    if (abs >= scale) return `${trim((count / scale).toPrecision(significant))} ${unit}`;
  }
  return trim(count.toPrecision(significant));
}

/** A fraction as a percentage, `0.0136` → `1.36%`; null (not applicable) as `–`. */
export function formatPercent(fraction: number | null, digits = 2): string {
  return fraction === null ? '–' : `${(fraction * 100).toFixed(digits)}%`;
}

/** Drops trailing zeros of a toPrecision result (`46.90` → `46.9`) but keeps exponent forms. */
function trim(text: string): string {
  if (text.includes('e')) return text;
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}
