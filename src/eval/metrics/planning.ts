/**
 * Open-loop planning metrics of SAD/ST-P3 (`PlanningMetric`, `evaluate.py`): L2 error of the planned
 * trajectory against the ground truth, and collision with ground-truth occupancy for the ego centre point
 * (`obj_col`) and the ego box footprint (`obj_box_col`), per future step. Steps where the ground-truth
 * trajectory's own box collides are not counted for that sample, which still counts in the denominator.
 * Reported at 1/2/3 s under two conventions, each labelled: ST-P3 (mean over the steps up to t, what SAD's
 * paper reports) and UniAD (the value at step t).
 *
 * Frames: trajectories are in the LIDAR_TOP frame, x right, y forward, metres (the reference's). The grid is
 * the BEV `[row = x forward, col = y left]`, row 0 at the back, as the labels. Indices truncate toward zero,
 * as the reference's `.long()` / `astype(int32)`, with its float32 arithmetic mirrored by Math.fround.
 */
import { z } from 'zod';
import { SpikedriveError } from '../../util/index.ts';
import { checkLength, checkPositiveInteger, mismatch, type NumberGrid, parseState } from './checks.ts';
import { ExactSum } from './exact-sum.ts';

/** A BEV axis as the reference config writes it: `[min, max, resolution]` in metres. */
export type BevBound = readonly [number, number, number];

/** The BEV raster the occupancy lives on. */
export interface BevGrid {
  /** Forward axis (`LIFT.X_BOUND`), rows. */
  xBound: BevBound;
  /** Left axis (`LIFT.Y_BOUND`), columns. */
  yBound: BevBound;
  rows: number;
  cols: number;
  /** Cell size (float32, as the reference stores it). */
  resolutionM: [number, number];
  /** Centre of cell 0 along each axis (float32). */
  startM: [number, number];
}

/** The paper's BEV: ±50 m at 0.5 m, 200×200. */
export const PAPER_BEV_BOUNDS: { xBound: BevBound; yBound: BevBound } = {
  xBound: [-50, 50, 0.5],
  yBound: [-50, 50, 0.5],
};

/** The paper's ego box (nuScenes Renault Zoe): `EGO.WIDTH` 1.85 m, `EGO.HEIGHT` (the length) 4.084 m. */
export const PAPER_EGO_SIZE = { widthM: 1.85, lengthM: 4.084 };

function checkBound(name: string, bound: BevBound): void {
  const [low, high, res] = bound;
  if (!(Number.isFinite(low) && Number.isFinite(high) && Number.isFinite(res) && res > 0 && high > low)) {
    throw new SpikedriveError(`${name} [${bound.join(', ')}] is not a valid [min, max, resolution].`, {
      subject: name,
      fix: `Give ${name} as [min, max, resolution] in metres with min < max and resolution > 0 (paper: [-50, 50, 0.5]).`,
    });
  }
}

/** The grid from config bounds (reference `calculate_birds_eye_view_parameters`: the cell count truncates). */
export function bevGridFromBounds(xBound: BevBound, yBound: BevBound): BevGrid {
  checkBound('xBound', xBound);
  checkBound('yBound', yBound);
  const rows = Math.trunc((xBound[1] - xBound[0]) / xBound[2]);
  const cols = Math.trunc((yBound[1] - yBound[0]) / yBound[2]);
  if (rows < 1 || cols < 1) {
    throw new SpikedriveError(`BEV bounds give an empty ${rows}×${cols} grid.`, {
      subject: 'xBound/yBound',
      fix: 'Use bounds that span at least one cell.',
    });
  }
  const f32 = Math.fround;
  return {
    xBound,
    yBound,
    rows,
    cols,
    resolutionM: [f32(xBound[2]), f32(yBound[2])],
    startM: [f32(xBound[0] + xBound[2] / 2), f32(yBound[0] + yBound[2] / 2)],
  };
}

/**
 * The cells the ego box covers when the ego sits at the origin: box [−L/2 + 0.5, L/2 + 0.5] m forward (the
 * +0.5 m is the reference's forward offset) × [−W/2, W/2] m left, rasterised like `skimage.draw.polygon`
 * (0.19, the version the golden fixtures ran): a cell is in when its index lies inside the box or on its
 * border (or within 1e-12 of a corner), negative indices dropped. On the paper's grid: 32 cells, rows
 * 97..104, cols 98..101. Returned as `[row, col]` pairs in raster order. Hand-written: the box is axis
 * aligned, so skimage's point-in-polygon test reduces to these comparisons.
 */
export function egoFootprintCells(
  grid: BevGrid,
  ego: { widthM: number; lengthM: number } = PAPER_EGO_SIZE,
): Int32Array {
  if (!(ego.widthM > 0 && ego.lengthM > 0)) {
    throw new SpikedriveError(`Ego size ${ego.lengthM}×${ego.widthM} m is not valid.`, {
      subject: 'ego size',
      fix: 'Give a positive egoLengthM and egoWidthM (paper: 4.084 × 1.85 m).',
    });
  }
  const rowA = (-ego.lengthM / 2 + 0.5 - grid.startM[0]) / grid.resolutionM[0];
  const rowB = (ego.lengthM / 2 + 0.5 - grid.startM[0]) / grid.resolutionM[0];
  const colA = (-ego.widthM / 2 - grid.startM[1]) / grid.resolutionM[1];
  const colB = (ego.widthM / 2 - grid.startM[1]) / grid.resolutionM[1];
  const eps = 1e-12;
  const nearCorner = (r: number, c: number) =>
    (Math.abs(r - rowA) < eps || Math.abs(r - rowB) < eps) &&
    (Math.abs(c - colA) < eps || Math.abs(c - colB) < eps);
  const cells: number[] = [];
  // skimage scans rows int(max(0, min))..ceil(max) and the same for columns.
  for (let r = Math.trunc(Math.max(0, rowA)); r <= Math.ceil(rowB); r++) {
    for (let c = Math.trunc(Math.max(0, colA)); c <= Math.ceil(colB); c++) {
      const inside = r >= rowA && r <= rowB && c >= colA && c <= colB;
      if (inside || nearCorner(r, c)) cells.push(r, c);
    }
  }
  return Int32Array.from(cells);
}

export interface PlanningMetricOptions {
  /** Future steps scored (reference: 6 for the 3 s planning config). */
  nFuture?: number;
  /** Seconds between future steps (nuScenes key-frames: 0.5). */
  stepS?: number;
  /** Horizons to report, seconds; default every whole second up to nFuture·stepS. */
  horizonsS?: readonly number[];
  /** Forward BEV bound `LIFT.X_BOUND` (default the paper's [-50, 50, 0.5]). */
  xBound?: BevBound;
  /** Lateral BEV bound `LIFT.Y_BOUND`. */
  yBound?: BevBound;
  /** `EGO.WIDTH` (1.85 m). */
  egoWidthM?: number;
  /** `EGO.HEIGHT`, the ego length (4.084 m). */
  egoLengthM?: number;
}

/** One sample's inputs. */
export interface PlanningSample {
  /** Planned trajectory `[nFuture, 2|3]` (x right, y forward[, heading]), step k at (k+1)·stepS. */
  plannedTrajectory: NumberGrid;
  /**
   * Ground-truth future `[nFuture, 2|3]`, **without** the origin: the reference's `gt_trajectory[:, 1:]`.
   */
  gtTrajectory: NumberGrid;
  /** Ground-truth occupancy (vehicle ∨ pedestrian) `[nFuture, rows, cols]`, nonzero = occupied. */
  gtOccupancy: NumberGrid;
  /** Values per point of both trajectories; inferred from their lengths when omitted. */
  pointDims?: 2 | 3;
}

/** Per-step outcome of one sample (for run files and the viewer). */
export interface PlanningSampleResult {
  l2M: number[];
  /** Centre point in an occupied cell (false where the step is masked or off the grid). */
  objCol: boolean[];
  /** Ego box footprint touches an occupied cell (false where the step is masked). */
  objBoxCol: boolean[];
  /** The ground-truth trajectory's own box collides here, so the step is not counted. */
  gtBoxCol: boolean[];
}

export type PlanningConvention = 'st-p3' | 'uniad';

/** One reported number set, labelled with its convention. */
export interface PlanningHorizonResult {
  /** 'st-p3': mean over steps 1..t (SAD's paper); 'uniad': value at step t. */
  convention: PlanningConvention;
  horizonS: number;
  /** Steps covered (ST-P3) or the step index + 1 (UniAD). */
  steps: number;
  l2M: number;
  /** Fraction of samples (× 100 for the papers' %). */
  objColRate: number;
  objBoxColRate: number;
}

export interface PlanningMetricResult {
  samples: number;
  /** Per future step: time (s), mean L2 (m) and collision rates (fractions of samples). */
  perStep: { timeS: number[]; l2M: number[]; objColRate: number[]; objBoxColRate: number[] };
  /** ST-P3 entries first, then UniAD, each in horizon order. Values are NaN before any sample. */
  horizons: PlanningHorizonResult[];
}

const boundSchema = z.tuple([z.number(), z.number(), z.number()]);
const planningStateSchema = z.object({
  metric: z.literal('planning'),
  version: z.literal(1),
  nFuture: z.number().int().positive(),
  stepS: z.number().positive(),
  horizonsS: z.array(z.number().positive()),
  xBound: boundSchema,
  yBound: boundSchema,
  egoWidthM: z.number().positive(),
  egoLengthM: z.number().positive(),
  samples: z.number().int().nonnegative(),
  l2: z.array(z.array(z.number())),
  objCol: z.array(z.number().int().nonnegative()),
  objBoxCol: z.array(z.number().int().nonnegative()),
});

/** Saved state of a {@link PlanningMetric}: plain JSON, lossless (L2 sums as exact partials). */
export type PlanningMetricState = z.infer<typeof planningStateSchema>;

/**
 * Planning metric accumulated over a dataset. One object covers every horizon: per-step sums do not depend
 * on the horizon, so the reference's three metric objects (over the first 2, 4, 6 steps) are the prefixes.
 */
export class PlanningMetric {
  readonly nFuture: number;
  readonly stepS: number;
  readonly horizonsS: readonly number[];
  readonly grid: BevGrid;
  readonly egoWidthM: number;
  readonly egoLengthM: number;
  /** Ego footprint cells at the origin, `[row, col]` pairs. */
  readonly footprint: Int32Array;
  private readonly horizonSteps: number[];
  private l2: ExactSum[];
  private objCol: number[];
  private objBoxCol: number[];
  private samples = 0;

  constructor(options: PlanningMetricOptions = {}) {
    this.nFuture = options.nFuture ?? 6;
    checkPositiveInteger('nFuture', this.nFuture);
    this.stepS = options.stepS ?? 0.5;
    if (!(this.stepS > 0)) {
      throw new SpikedriveError(`stepS must be positive, got ${this.stepS}.`, {
        subject: 'stepS',
        fix: 'Use the time between future frames (0.5 s for nuScenes key-frames).',
      });
    }
    const lastWhole = Math.floor(this.nFuture * this.stepS + 1e-9);
    this.horizonsS = options.horizonsS ?? Array.from({ length: lastWhole }, (_, i) => i + 1);
    this.horizonSteps = this.horizonsS.map((horizon) => {
      const steps = Math.round(horizon / this.stepS);
      if (!(steps >= 1 && steps <= this.nFuture && Math.abs(steps * this.stepS - horizon) < 1e-9)) {
        throw new SpikedriveError(
          `Horizon ${horizon} s is not a whole number of ${this.stepS} s steps within ${this.nFuture} steps.`,
          {
            subject: 'horizonsS',
            fix: `Use horizons that are multiples of ${this.stepS} s up to ${this.nFuture * this.stepS} s.`,
          },
        );
      }
      return steps;
    });
    this.grid = bevGridFromBounds(
      options.xBound ?? PAPER_BEV_BOUNDS.xBound,
      options.yBound ?? PAPER_BEV_BOUNDS.yBound,
    );
    this.egoWidthM = options.egoWidthM ?? PAPER_EGO_SIZE.widthM;
    this.egoLengthM = options.egoLengthM ?? PAPER_EGO_SIZE.lengthM;
    this.footprint = egoFootprintCells(this.grid, { widthM: this.egoWidthM, lengthM: this.egoLengthM });
    this.l2 = Array.from({ length: this.nFuture }, () => new ExactSum());
    this.objCol = new Array(this.nFuture).fill(0);
    this.objBoxCol = new Array(this.nFuture).fill(0);
  }

  private pointDims(name: string, trajectory: NumberGrid, given?: 2 | 3): number {
    for (const dims of given ? [given] : [2, 3]) if (trajectory.length === this.nFuture * dims) return dims;
    const withOrigin = (given ? [given] : [2, 3]).some(
      (dims) => trajectory.length === (this.nFuture + 1) * dims,
    );
    if (withOrigin) {
      throw new SpikedriveError(
        `${name} has ${this.nFuture + 1} points for ${this.nFuture} future steps: it seems to include the origin.`,
        { subject: name, fix: 'Drop point 0 (the origin), as the reference scores gt_trajectory[:, 1:].' },
      );
    }
    const expected = given ? `${this.nFuture}×${given}` : `${this.nFuture}×2 or ${this.nFuture}×3`;
    throw new SpikedriveError(`${name} has ${trajectory.length} values; expected ${expected}.`, {
      subject: name,
      fix: `Pass the ${this.nFuture} future points (x right, y forward[, heading]) without the origin point.`,
    });
  }

  /** Whether the ego box placed at each step collides (reference `evaluate_single_coll`). */
  private boxCollisions(trajectory: NumberGrid, dims: number, occupancy: NumberGrid): boolean[] {
    const { rows, cols, resolutionM } = this.grid;
    const f32 = Math.fround;
    const plane = rows * cols;
    const out: boolean[] = [];
    for (let t = 0; t < this.nFuture; t++) {
      // Lidar (x right, y forward) → (forward, left) in cells; the footprint cells are then offset by it.
      const forwardCells = f32(f32(trajectory[t * dims + 1]) / resolutionM[0]);
      const leftCells = f32(f32(-trajectory[t * dims]) / resolutionM[1]);
      let hit = false;
      for (let m = 0; m < this.footprint.length && !hit; m += 2) {
        const r = Math.min(Math.max(Math.trunc(forwardCells + this.footprint[m]), 0), rows - 1);
        const c = Math.min(Math.max(Math.trunc(leftCells + this.footprint[m + 1]), 0), cols - 1);
        if (occupancy[t * plane + r * cols + c]) hit = true;
      }
      out.push(hit);
    }
    return out;
  }

  /** Scores one sample and adds it to the totals; returns its per-step outcome. */
  update(sample: PlanningSample): PlanningSampleResult {
    const { plannedTrajectory: planned, gtTrajectory: gt, gtOccupancy: occupancy } = sample;
    const plannedDims = this.pointDims('plannedTrajectory', planned, sample.pointDims);
    const gtDims = this.pointDims('gtTrajectory', gt, sample.pointDims);
    const { rows, cols, resolutionM, startM } = this.grid;
    const plane = rows * cols;
    checkLength('gtOccupancy', occupancy, this.nFuture * plane, `[${this.nFuture}, ${rows}, ${cols}]`);
    for (const [name, values] of [
      ['plannedTrajectory', planned],
      ['gtTrajectory', gt],
    ] as const) {
      for (let k = 0; k < values.length; k++) {
        if (!Number.isFinite(values[k])) {
          throw new SpikedriveError(`${name}[${k}] is ${values[k]}.`, {
            subject: name,
            fix: 'Pass finite trajectory coordinates in metres.',
          });
        }
      }
    }

    const gtBoxCol = this.boxCollisions(gt, gtDims, occupancy);
    const boxCol = this.boxCollisions(planned, plannedDims, occupancy);
    const f32 = Math.fround;
    const result: PlanningSampleResult = { l2M: [], objCol: [], objBoxCol: [], gtBoxCol };
    for (let t = 0; t < this.nFuture; t++) {
      const px = planned[t * plannedDims];
      const py = planned[t * plannedDims + 1];
      const l2 = Math.hypot(px - gt[t * gtDims], py - gt[t * gtDims + 1]);
      result.l2M.push(l2);
      this.l2[t].add(l2);

      // Centre point cell: ((p − start) / res).long(), in float32, counted only on the grid.
      const row = Math.trunc(f32(f32(f32(py) - startM[0]) / resolutionM[0]));
      const col = Math.trunc(f32(f32(f32(-px) - startM[1]) / resolutionM[1]));
      const onGrid = row >= 0 && row < rows && col >= 0 && col < cols;
      const pointHit = !gtBoxCol[t] && onGrid && occupancy[t * plane + row * cols + col] !== 0;
      const boxHit = !gtBoxCol[t] && boxCol[t];
      result.objCol.push(pointHit);
      result.objBoxCol.push(boxHit);
      if (pointHit) this.objCol[t] += 1;
      if (boxHit) this.objBoxCol[t] += 1;
    }
    this.samples += 1;
    return result;
  }

  compute(): PlanningMetricResult {
    const n = this.samples;
    const l2M = this.l2.map((sum) => sum.value() / n);
    const objColRate = this.objCol.map((count) => count / n);
    const objBoxColRate = this.objBoxCol.map((count) => count / n);
    const mean = (values: number[], steps: number) =>
      values.slice(0, steps).reduce((a, b) => a + b, 0) / steps;
    const horizons: PlanningHorizonResult[] = [];
    this.horizonsS.forEach((horizonS, i) => {
      const steps = this.horizonSteps[i];
      horizons.push({
        convention: 'st-p3',
        horizonS,
        steps,
        l2M: mean(l2M, steps),
        objColRate: mean(objColRate, steps),
        objBoxColRate: mean(objBoxColRate, steps),
      });
    });
    this.horizonsS.forEach((horizonS, i) => {
      const steps = this.horizonSteps[i];
      horizons.push({
        convention: 'uniad',
        horizonS,
        steps,
        l2M: l2M[steps - 1],
        objColRate: objColRate[steps - 1],
        objBoxColRate: objBoxColRate[steps - 1],
      });
    });
    return {
      samples: n,
      perStep: {
        timeS: Array.from({ length: this.nFuture }, (_, t) => (t + 1) * this.stepS),
        l2M,
        objColRate,
        objBoxColRate,
      },
      horizons,
    };
  }

  reset(): void {
    this.l2 = Array.from({ length: this.nFuture }, () => new ExactSum());
    this.objCol.fill(0);
    this.objBoxCol.fill(0);
    this.samples = 0;
  }

  private optionsJSON() {
    return {
      nFuture: this.nFuture,
      stepS: this.stepS,
      horizonsS: [...this.horizonsS],
      xBound: [...this.grid.xBound] as [number, number, number],
      yBound: [...this.grid.yBound] as [number, number, number],
      egoWidthM: this.egoWidthM,
      egoLengthM: this.egoLengthM,
    };
  }

  merge(other: PlanningMetric): this {
    const mine = this.optionsJSON();
    const theirs = other.optionsJSON();
    for (const key of Object.keys(mine) as (keyof typeof mine)[]) {
      if (JSON.stringify(mine[key]) !== JSON.stringify(theirs[key])) {
        throw mismatch('PlanningMetric', key, JSON.stringify(mine[key]), JSON.stringify(theirs[key]));
      }
    }
    for (let t = 0; t < this.nFuture; t++) {
      this.l2[t].addSum(other.l2[t]);
      this.objCol[t] += other.objCol[t];
      this.objBoxCol[t] += other.objBoxCol[t];
    }
    this.samples += other.samples;
    return this;
  }

  toJSON(): PlanningMetricState {
    return {
      metric: 'planning',
      version: 1,
      ...this.optionsJSON(),
      samples: this.samples,
      l2: this.l2.map((sum) => sum.toJSON()),
      objCol: [...this.objCol],
      objBoxCol: [...this.objBoxCol],
    };
  }

  static fromJSON(json: unknown): PlanningMetric {
    const state = parseState(planningStateSchema, json, 'PlanningMetric');
    const metric = new PlanningMetric({
      nFuture: state.nFuture,
      stepS: state.stepS,
      horizonsS: state.horizonsS,
      xBound: state.xBound,
      yBound: state.yBound,
      egoWidthM: state.egoWidthM,
      egoLengthM: state.egoLengthM,
    });
    for (const key of ['l2', 'objCol', 'objBoxCol'] as const) {
      if (state[key].length !== state.nFuture) {
        throw new SpikedriveError(
          `Saved PlanningMetric state has ${state[key].length} ${key} entries for ${state.nFuture} steps.`,
          { subject: 'PlanningMetric', fix: 'Pass the unchanged toJSON() output, or start afresh.' },
        );
      }
    }
    metric.l2 = state.l2.map((partials) => ExactSum.fromJSON(partials));
    metric.objCol = [...state.objCol];
    metric.objBoxCol = [...state.objBoxCol];
    metric.samples = state.samples;
    return metric;
  }
}
