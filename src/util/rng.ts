import seedrandom from 'seedrandom';

/** A seeded pseudo-random source: the same seed gives the same sequence on every machine. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [low, high). */
  uniform(low: number, high: number): number;
  /** Integer uniform in [low, high). */
  int(low: number, high: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A new independent stream derived from this seed and a label (stable under reordering of callers). */
  fork(label: string): Rng;
}

export function createRng(seed: number | string): Rng {
  const seedText = String(seed);
  const source = seedrandom(seedText);
  const rng: Rng = {
    next: () => source.quick(),
    uniform: (low, high) => low + (high - low) * source.quick(),
    int: (low, high) => low + Math.floor((high - low) * source.quick()),
    normal: () => {
      const u = 1 - source.quick();
      const v = source.quick();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    chance: (p) => source.quick() < p,
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick() needs a non-empty array');
      return items[Math.floor(source.quick() * items.length)];
    },
    fork: (label) => createRng(`${seedText}/${label}`),
  };
  return rng;
}
