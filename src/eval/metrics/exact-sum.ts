import { SpikedriveError } from '../../util/index.ts';

/**
 * An exactly rounded running sum of doubles (Shewchuk's non-overlapping partials, the algorithm behind
 * Python's `math.fsum`). Metric states use it for real-valued totals (L2 distances, panoptic IoUs) so that
 * a run resumed from saved state, or merged from parallel shards, gives bit-identical numbers to one
 * uninterrupted pass whatever the order of additions. Hand-written: no small, well-kept npm package does
 * exact summation, and the whole algorithm is a few lines.
 */
export class ExactSum {
  private partials: number[] = [];

  /** Adds one finite value. */
  add(value: number): this {
    if (!Number.isFinite(value)) {
      throw new SpikedriveError(`Cannot add ${value} to a metric total.`, {
        fix: 'Check the metric inputs for NaN or infinite values (e.g. an unset trajectory point).',
      });
    }
    let x = value;
    let kept = 0;
    const partials = this.partials;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j];
      if (Math.abs(x) < Math.abs(y)) {
        const swap = x;
        x = y;
        y = swap;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[kept++] = lo;
      x = hi;
    }
    partials.length = kept;
    partials.push(x);
    return this;
  }

  /** Adds every partial of another sum (exact, so merging shards in any order gives the same value). */
  addSum(other: ExactSum): this {
    for (const partial of other.partials) this.add(partial);
    return this;
  }

  /** The sum of everything added, correctly rounded to the nearest double. */
  value(): number {
    const partials = this.partials;
    let n = partials.length;
    if (n === 0) return 0;
    n -= 1;
    let hi = partials[n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      n -= 1;
      const y = partials[n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Round half-way cases the way a single exact rounding would (the sign of the next partial decides).
    if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }

  /** The partials: a JSON-safe, lossless snapshot (JSON round-trips doubles exactly). */
  toJSON(): number[] {
    return [...this.partials];
  }

  static fromJSON(partials: readonly number[]): ExactSum {
    const sum = new ExactSum();
    for (const partial of partials) sum.add(partial);
    return sum;
  }

  clone(): ExactSum {
    return ExactSum.fromJSON(this.partials);
  }
}
