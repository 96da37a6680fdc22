// Helpers shared by the benchmarks (bench/index.ts skips files starting with `_`).

/** The median (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `--name value` from the bench's arguments, or the fallback. */
export function benchOption(
  name: string,
  fallback: string,
  args: readonly string[] = process.argv.slice(2),
): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}
