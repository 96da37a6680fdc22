import { z } from 'zod';
import { SpikedriveError } from '../../util/index.ts';
import {
  badLabel,
  checkLength,
  checkPositiveInteger,
  mismatch,
  type NumberGrid,
  parseState,
} from './checks.ts';

/**
 * Per-class true/false positives, false negatives and support, counted exactly as PyTorch Lightning 1.2's
 * `stat_scores_multiple_classes` (what the SAD/ST-P3 `IntersectionOverUnion` calls): prediction and target
 * are clamped to `nClasses`, so any id ≥ `nClasses` falls into an extra "void" bin that is then dropped.
 * A pixel predicted void whose target is class c is still a false negative of c (and vice versa).
 */
export interface ClassStatScores {
  truePositive: number[];
  falsePositive: number[];
  falseNegative: number[];
  support: number[];
}

export function statScoresMultipleClasses(
  prediction: NumberGrid,
  target: NumberGrid,
  nClasses: number,
): ClassStatScores {
  checkPositiveInteger('nClasses', nClasses);
  checkLength('target', target, prediction.length, 'the same layout as prediction');
  // One extra bin at index nClasses collects the clamped (void) ids.
  const tp = new Float64Array(nClasses + 1);
  const fp = new Float64Array(nClasses + 1);
  const fn = new Float64Array(nClasses + 1);
  const support = new Float64Array(nClasses + 1);
  for (let i = 0; i < prediction.length; i++) {
    const p = prediction[i];
    const t = target[i];
    if (!(p >= 0 && Number.isInteger(p))) throw badLabel('prediction', i, p);
    if (!(t >= 0 && Number.isInteger(t))) throw badLabel('target', i, t);
    const pc = Math.min(p, nClasses);
    const tc = Math.min(t, nClasses);
    support[tc] += 1;
    if (pc === tc) {
      tp[pc] += 1;
    } else {
      fp[pc] += 1;
      fn[tc] += 1;
    }
  }
  return {
    truePositive: Array.from(tp.subarray(0, nClasses)),
    falsePositive: Array.from(fp.subarray(0, nClasses)),
    falseNegative: Array.from(fn.subarray(0, nClasses)),
    support: Array.from(support.subarray(0, nClasses)),
  };
}

export interface IntersectionOverUnionOptions {
  /** Score of a class with no support and no predictions over everything seen (reference: 0; hdmap uses 1). */
  absentScore?: number;
  /** A class left out of the scores (its entry is removed, so later indices shift down, as in the reference). */
  ignoreIndex?: number | null;
}

const iouStateSchema = z.object({
  metric: z.literal('intersection-over-union'),
  version: z.literal(1),
  nClasses: z.number().int().positive(),
  absentScore: z.number(),
  ignoreIndex: z.number().int().nullable(),
  truePositive: z.array(z.number().int().nonnegative()),
  falsePositive: z.array(z.number().int().nonnegative()),
  falseNegative: z.array(z.number().int().nonnegative()),
  support: z.array(z.number().int().nonnegative()),
});

/** Saved state of an {@link IntersectionOverUnion}: plain JSON, lossless. */
export type IntersectionOverUnionState = z.infer<typeof iouStateSchema>;

/**
 * BEV semantic IoU accumulated over a whole dataset (SAD `metrics.py` `IntersectionOverUnion`): counts add up
 * over every `update`, IoU = TP / (TP + FP + FN) per class is taken once at the end. The evaluator feeds the
 * argmax prediction and the label of every frame from the present on (`[:, nPresent − 1:]`); the HD map uses
 * one metric per element with `absentScore: 1` on the present frame. The paper reports class 1.
 */
export class IntersectionOverUnion {
  readonly nClasses: number;
  readonly absentScore: number;
  readonly ignoreIndex: number | null;
  private truePositive: Float64Array;
  private falsePositive: Float64Array;
  private falseNegative: Float64Array;
  private support: Float64Array;

  constructor(nClasses: number, options: IntersectionOverUnionOptions = {}) {
    checkPositiveInteger('nClasses', nClasses);
    this.nClasses = nClasses;
    this.absentScore = options.absentScore ?? 0;
    this.ignoreIndex = options.ignoreIndex ?? null;
    if (!Number.isFinite(this.absentScore)) {
      throw new SpikedriveError(`absentScore must be a finite number, got ${this.absentScore}.`, {
        subject: 'absentScore',
        fix: 'Use 0 (vehicle/pedestrian, the reference default) or 1 (HD map elements).',
      });
    }
    if (this.ignoreIndex !== null && !Number.isInteger(this.ignoreIndex)) {
      throw new SpikedriveError(`ignoreIndex must be an integer class index, got ${this.ignoreIndex}.`, {
        subject: 'ignoreIndex',
        fix: 'Pass the index of the class to leave out, or omit the option.',
      });
    }
    this.truePositive = new Float64Array(nClasses);
    this.falsePositive = new Float64Array(nClasses);
    this.falseNegative = new Float64Array(nClasses);
    this.support = new Float64Array(nClasses);
  }

  /**
   * Adds one batch of label grids (any shape, flattened alike): `prediction` holds class ids (argmax of the
   * logits), `target` the ground-truth ids; ids ≥ nClasses are void.
   */
  update(prediction: NumberGrid, target: NumberGrid): void {
    const stats = statScoresMultipleClasses(prediction, target, this.nClasses);
    for (let c = 0; c < this.nClasses; c++) {
      this.truePositive[c] += stats.truePositive[c];
      this.falsePositive[c] += stats.falsePositive[c];
      this.falseNegative[c] += stats.falseNegative[c];
      this.support[c] += stats.support[c];
    }
  }

  /**
   * IoU per class, in class order with the ignored class removed (as the reference returns it). A class that
   * never appeared in the targets and was never predicted scores `absentScore`.
   */
  compute(): number[] {
    const scores: number[] = [];
    for (let c = 0; c < this.nClasses; c++) {
      if (c === this.ignoreIndex) continue;
      const tp = this.truePositive[c];
      const fp = this.falsePositive[c];
      const fn = this.falseNegative[c];
      if (this.support[c] + tp + fp === 0) {
        scores.push(this.absentScore);
        continue;
      }
      scores.push(tp / (tp + fp + fn));
    }
    return scores;
  }

  /** IoU of one class by its original index (the paper reports class 1: vehicle, pedestrian, map element). */
  classIou(classIndex: number): number {
    if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= this.nClasses) {
      throw new SpikedriveError(`Class index ${classIndex} is outside 0..${this.nClasses - 1}.`, {
        subject: 'classIndex',
        fix: 'Ask for a class the metric was built with (the paper reports index 1).',
      });
    }
    if (classIndex === this.ignoreIndex) {
      throw new SpikedriveError(`Class ${classIndex} is the ignored class and has no IoU.`, {
        subject: 'classIndex',
        fix: 'Ask for another class, or build the metric without ignoreIndex.',
      });
    }
    const position = this.ignoreIndex !== null && this.ignoreIndex < classIndex ? classIndex - 1 : classIndex;
    return this.compute()[position];
  }

  /** The accumulated counts (copies). */
  counts(): ClassStatScores {
    return {
      truePositive: Array.from(this.truePositive),
      falsePositive: Array.from(this.falsePositive),
      falseNegative: Array.from(this.falseNegative),
      support: Array.from(this.support),
    };
  }

  reset(): void {
    this.truePositive.fill(0);
    this.falsePositive.fill(0);
    this.falseNegative.fill(0);
    this.support.fill(0);
  }

  /** Adds another metric's counts (parallel shards or a resumed run); counts are integers, so exact. */
  merge(other: IntersectionOverUnion): this {
    const name = 'IntersectionOverUnion';
    if (other.nClasses !== this.nClasses) throw mismatch(name, 'nClasses', this.nClasses, other.nClasses);
    if (other.absentScore !== this.absentScore) {
      throw mismatch(name, 'absentScore', this.absentScore, other.absentScore);
    }
    if (other.ignoreIndex !== this.ignoreIndex) {
      throw mismatch(name, 'ignoreIndex', this.ignoreIndex, other.ignoreIndex);
    }
    for (let c = 0; c < this.nClasses; c++) {
      this.truePositive[c] += other.truePositive[c];
      this.falsePositive[c] += other.falsePositive[c];
      this.falseNegative[c] += other.falseNegative[c];
      this.support[c] += other.support[c];
    }
    return this;
  }

  toJSON(): IntersectionOverUnionState {
    return {
      metric: 'intersection-over-union',
      version: 1,
      nClasses: this.nClasses,
      absentScore: this.absentScore,
      ignoreIndex: this.ignoreIndex,
      ...this.counts(),
    };
  }

  static fromJSON(json: unknown): IntersectionOverUnion {
    const state = parseState(iouStateSchema, json, 'IntersectionOverUnion');
    for (const key of ['truePositive', 'falsePositive', 'falseNegative', 'support'] as const) {
      if (state[key].length !== state.nClasses) {
        throw new SpikedriveError(
          `Saved IntersectionOverUnion state has ${state[key].length} ${key} counts for ${state.nClasses} classes.`,
          { subject: 'IntersectionOverUnion', fix: 'Pass the unchanged toJSON() output, or start afresh.' },
        );
      }
    }
    const metric = new IntersectionOverUnion(state.nClasses, {
      absentScore: state.absentScore,
      ignoreIndex: state.ignoreIndex,
    });
    metric.truePositive.set(state.truePositive);
    metric.falsePositive.set(state.falsePositive);
    metric.falseNegative.set(state.falseNegative);
    metric.support.set(state.support);
    return metric;
  }
}

/**
 * Class id per pixel from logits laid out `[frames, classes, height, width]` (torch.argmax over dim 2:
 * the first maximum wins a tie). Returns `[frames, height, width]`.
 */
export function argmaxClasses(
  logits: NumberGrid,
  shape: { frames: number; classes: number; height: number; width: number },
): Uint8Array | Int32Array {
  const { frames, classes, height, width } = shape;
  for (const [key, value] of Object.entries({ frames, classes, height, width }))
    checkPositiveInteger(key, value);
  checkLength('logits', logits, frames * classes * height * width, '[frames, classes, height, width]');
  const plane = height * width;
  const out = classes <= 256 ? new Uint8Array(frames * plane) : new Int32Array(frames * plane);
  for (let f = 0; f < frames; f++) {
    const base = f * classes * plane;
    for (let p = 0; p < plane; p++) {
      let best = logits[base + p];
      let bestClass = 0;
      for (let c = 1; c < classes; c++) {
        const v = logits[base + c * plane + p];
        // NaN counts as the maximum in torch.argmax; keep the first NaN like it does.
        if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
          best = v;
          bestClass = c;
        }
      }
      out[f * plane + p] = bestClass;
    }
  }
  return out;
}
