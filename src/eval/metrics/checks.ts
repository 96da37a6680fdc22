import type { z } from 'zod';
import { SpikedriveError } from '../../util/index.ts';

/** A grid of labels or values in row-major order; any typed array (or plain array) of numbers. */
export type NumberGrid = ArrayLike<number>;

/** A view (typed arrays) or copy (plain arrays) of `length` elements from `start`. */
export function sliceGrid(values: NumberGrid, start: number, length: number): NumberGrid {
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    return (values as unknown as Float64Array).subarray(start, start + length);
  }
  return Array.prototype.slice.call(values, start, start + length) as number[];
}

export function checkLength(name: string, values: NumberGrid, expected: number, layout: string): void {
  if (values.length !== expected) {
    throw new SpikedriveError(`${name} has ${values.length} elements, expected ${expected} (${layout}).`, {
      subject: name,
      fix: `Pass ${name} as a flat row-major array laid out as ${layout}.`,
    });
  }
}

export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new SpikedriveError(`${name} must be a positive integer, got ${value}.`, {
      subject: name,
      fix: `Set ${name} to a whole number ≥ 1.`,
    });
  }
}

/** A label must be a non-negative integer (the reference indexes counters by it). */
export function badLabel(name: string, index: number, value: number): SpikedriveError {
  return new SpikedriveError(
    `${name}[${index}] = ${value} is not a non-negative integer class/instance id.`,
    {
      subject: name,
      fix: 'Pass integer labels ≥ 0 (take the argmax over class logits first; use ids ≥ nClasses for void pixels).',
    },
  );
}

/** Parses saved metric state, turning schema errors into one clear SpikedriveError. */
export function parseState<T>(schema: z.ZodType<T>, json: unknown, metric: string): T {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.map(String).join('.') || '(root)' : '(root)';
    throw new SpikedriveError(
      `Saved ${metric} state is not valid: ${where}: ${issue ? issue.message : 'invalid'}.`,
      {
        subject: metric,
        fix: `Pass the object that ${metric}.toJSON() produced (unchanged), or start the evaluation afresh.`,
      },
    );
  }
  return parsed.data;
}

export function mismatch(metric: string, what: string, mine: unknown, theirs: unknown): SpikedriveError {
  return new SpikedriveError(
    `Cannot merge ${metric} states with different ${what} (${String(mine)} vs ${String(theirs)}).`,
    { subject: metric, fix: 'Merge only metrics built with the same options (same config and preset).' },
  );
}
