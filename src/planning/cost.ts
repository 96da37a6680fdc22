import * as tf from '@tensorflow/tfjs';
import { SnnModule } from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import {
  type BevGrid,
  type BoundM,
  bevGrid,
  clampCell,
  type EgoSize,
  egoFootprint,
  type Footprint,
  SAD_EGO,
} from './geometry.ts';

const f32 = Math.fround;

/**
 * The cost weights, under the reference's `COST_FUNCTION` keys so a `SadConfig`'s block passes straight in.
 * `LAMBDA` is the safety margin in metres, but the reference turns it into cells (⌊LAMBDA/dx⌋ = 2) and then uses
 * that number as metres again (see `SafetyCost`).
 */
export interface CostWeights {
  SAFETY: number;
  LAMBDA: number;
  HEADWAY: number;
  LRDIVIDER: number;
  COMFORT: number;
  PROGRESS: number;
  VOLUME: number;
}

/** The weights SAD trains and evaluates with (`configs/nuscenes/Planning.yml`; `LAMBDA` from `config.py`). */
export const SAD_COST_WEIGHTS: Readonly<CostWeights> = {
  SAFETY: 1,
  LAMBDA: 1,
  HEADWAY: 1,
  LRDIVIDER: 10,
  COMFORT: 0.1,
  PROGRESS: 0.5,
  VOLUME: 100,
};

/** Fixed constants of the reference terms (not configurable there either). */
export const COST_CONSTANTS = {
  /** `HeadwayCost.L`: the footprint is shifted this far forward (m). */
  headwayM: 10,
  /** `LR_divider.L`: lane dividers closer than this (m) cost (L − d)². */
  laneDistanceM: 1,
  /** `Rule.factor`. */
  ruleWeight: 5,
  /** `Comfort`: lateral / longitudinal acceleration (m/s²) and jerk (m/s³) limits. */
  lateralAccel: 3,
  longitudinalAccel: 3,
  jerk: 1,
  /** Seconds between waypoints in the finite differences. */
  dtS: 0.5,
} as const;

/** The HD map as the planner's cost function reads it, per batch item, channels last [X, Y, C]. */
export interface HdMapInput {
  data: Float32Array;
  /**
   * `masks`: C = 2 binary labels [lane divider, drivable area] (training, GT). `logits`: C = 4 decoder logits
   * [lane bg, lane fg, drivable bg, drivable fg] (evaluation); each pair goes through a softmax, and the drivable
   * probability is zeroed below 0.5, the lane probability at or below 0.5.
   */
  channels: 'masks' | 'logits';
}

/** What the cost function scores candidates on, for one batch item (host arrays, row-major). */
export interface CostMaps {
  /** [F, X, Y] occupancy (`semantic_pred`): GT vehicle ∨ pedestrian in training, predicted argmax in evaluation. */
  occupancy: Float32Array;
  hdmap: HdMapInput;
  /** [F, X, Y] raw `costvolume` head output (clamped to [0, 1000] inside). Only the host path reads it. */
  costVolume?: Float32Array;
}

/** Every cost term of every candidate, after its weight and clamp (float32, as the reference computes them). */
export interface CostBreakdown {
  /** Candidates N and future steps F. */
  n: number;
  f: number;
  /** [N, F] per-step terms. */
  safety: Float32Array;
  headway: Float32Array;
  laneDivider: Float32Array;
  /** Absent when the cost volume is scored as a tensor (training path). */
  costVolume: Float32Array | null;
  rule: Float32Array;
  /** [N] per-trajectory terms. */
  comfort: Float32Array;
  progress: Float32Array;
  /** [N, F] safety + headway + lane divider (+ cost volume) + rule. */
  fo: Float32Array;
  /** [N] comfort + progress. */
  fc: Float32Array;
  /** [N] fc + Σ_t fo: the score the planner minimises (only when the cost volume was scored on the host). */
  total: Float32Array | null;
  /** [N, F] flat index t·X·Y + row·Y + col of each waypoint's cell (cost volume and lane lookups). */
  cells: Int32Array;
}

export interface CostFunctionOptions {
  /** `LIFT.X_BOUND` (rows, forward) and `LIFT.Y_BOUND` (columns, left). */
  xBound: BoundM;
  yBound: BoundM;
  ego?: EgoSize;
  weights?: CostWeights;
}

/** The seven terms' module names in the reference `Cost_Function` (and their checkpoint buffers). */
const TERMS = [
  'safetycost',
  'headwaycost',
  'lrdividercost',
  'comfortcost',
  'progresscost',
  'rulecost',
  'costvolume',
] as const;

/** One reference `BaseCost`: only its non-trainable `dx`, `bx` (and `SafetyCost.w`) buffers, for the checkpoint. */
class CostTermBuffers extends SnnModule {
  readonly kind = 'cost_term';
  readonly dx: tf.Variable;
  readonly bx: tf.Variable;
  readonly w: tf.Variable | null;

  constructor(grid: BevGrid, withWeights: boolean) {
    super();
    this.dx = this.addParam('dx', tf.tensor1d(grid.resolutionM), 'plain', false);
    this.bx = this.addParam('bx', tf.tensor1d(grid.startM), 'plain', false);
    this.w = withWeights ? this.addParam('w', tf.tensor1d([1, 1]), 'plain', false) : null;
  }
}

/** Per-batch-item maps prepared once: processed drivable area, lane-distance costs, dangerous area, headway map. */
interface PreparedMaps {
  occupancy: Float32Array;
  /** Summed-area tables ([planes, X + 1, Y + 1], float64) of occupancy, headway and dangerous maps. */
  occupancySat: Float64Array;
  headwaySat: Float64Array;
  dangerousSat: Float64Array;
  /** [F, X, Y] occupancy × drivable. */
  headway: Float32Array;
  /** [X, Y] 1 where the drivable area is exactly 0. */
  dangerous: Float32Array;
  /** [X, Y] (L − d)² to the nearest lane pixel, 0 beyond L (unweighted). */
  lane: Float32Array;
  costVolume: Float32Array | null;
}

/**
 * The reference `Cost_Function` (`sad/cost.py`, identical to ST-P3's) over candidate trajectories in the LIDAR frame
 * (x right, y forward). Names `planning.cost_function.*` (the buffers `dx`, `bx` of each term and `safetycost.w`).
 *
 * Reproduced quirks (docs/model.md, Planning): the safety margin λ = ⌊LAMBDA/dx⌋ = 2 is used as metres (a 2 m margin,
 * 192 cells, instead of 1 m); waypoints index cells by truncation toward zero and clamping, so off-grid waypoints
 * score the border cells; the progress target is compared only if the *whole batch's* targets sum to ≥ 0.5 (the
 * loader always gives (0, 0), so never); the target is compared with the x-flipped waypoint; the footprint is offset
 * 0.5 m forward of the ego centre.
 */
export class CostFunction extends SnnModule {
  readonly kind = 'cost_function';
  readonly grid: BevGrid;
  readonly ego: EgoSize;
  readonly weights: CostWeights;
  /** λ = 0 footprint (32 cells for SAD) and the enlarged safety footprint (λ = ⌊LAMBDA/dx⌋ used as metres). */
  readonly footprint: Footprint;
  readonly safetyFootprint: Footprint;
  private readonly buffers: Map<string, CostTermBuffers>;
  private checkedVersion = -1;
  private safetyW: [number, number] = [1, 1];

  constructor(options: CostFunctionOptions) {
    super();
    this.grid = bevGrid(options.xBound, options.yBound);
    this.ego = options.ego ?? SAD_EGO;
    this.weights = { ...(options.weights ?? SAD_COST_WEIGHTS) };
    for (const [key, value] of Object.entries(this.weights)) {
      if (!Number.isFinite(value)) {
        throw new SpikedriveError(`COST_FUNCTION.${key} must be a finite number, got ${value}`, {
          subject: `COST_FUNCTION.${key}`,
          fix: 'Use the reference values (Planning.yml): SAFETY 1, LAMBDA 1, HEADWAY 1, LRDIVIDER 10, COMFORT 0.1, PROGRESS 0.5, VOLUME 100.',
        });
      }
    }
    if (!(this.ego.lengthM > 0) || !(this.ego.widthM > 0)) {
      throw new SpikedriveError(`EGO size must be positive, got ${this.ego.lengthM} × ${this.ego.widthM} m`, {
        subject: 'EGO',
        fix: 'SAD uses HEIGHT (length) 4.084 m and WIDTH 1.85 m.',
      });
    }
    this.buffers = new Map();
    for (const term of TERMS) {
      this.buffers.set(term, this.register(term, new CostTermBuffers(this.grid, term === 'safetycost')));
    }
    this.footprint = egoFootprint(this.grid, this.ego, 0);
    // `_lambda = int(_lambda / self.dx[0])` (cells), then `get_origin_points(_lambda)` adds it in metres.
    this.safetyFootprint = egoFootprint(
      this.grid,
      this.ego,
      safetyLambdaCells(this.weights.LAMBDA, this.grid),
    );
    if (this.footprint.rect === null || this.safetyFootprint.rect === null) {
      throw new SpikedriveError('The ego footprint does not rasterise to a rectangle of cells', {
        subject: 'EGO',
        fix: 'Check EGO and LIFT bounds; the footprint is an axis-aligned box.',
      });
    }
  }

  /** Re-reads the checkpoint buffers after a load: the geometry must be the config's, `safetycost.w` is used. */
  private checkBuffers(): void {
    const version = this.modules().reduce((sum, m) => sum + m.version, 0);
    if (version === this.checkedVersion) return;
    for (const [term, buffers] of this.buffers) {
      const dx = buffers.dx.dataSync();
      const bx = buffers.bx.dataSync();
      const same =
        dx[0] === this.grid.resolutionM[0] &&
        dx[1] === this.grid.resolutionM[1] &&
        bx[0] === this.grid.startM[0] &&
        bx[1] === this.grid.startM[1];
      if (!same) {
        throw new SpikedriveError(
          `planning.cost_function.${term} holds grid dx [${Array.from(dx).join(', ')}], bx [${Array.from(bx).join(', ')}] but LIFT bounds give dx [${this.grid.resolutionM.join(', ')}], bx [${this.grid.startM.join(', ')}]`,
          {
            subject: `planning.cost_function.${term}.dx`,
            fix: 'Use LIFT.X_BOUND / Y_BOUND of the configuration the checkpoint was trained with.',
          },
        );
      }
      if (buffers.w !== null) {
        const w = buffers.w.dataSync();
        this.safetyW = [w[0], w[1]];
      }
    }
    this.checkedVersion = version;
  }

  /**
   * Prepares one batch item's maps (hdmap processing, lane distance costs, headway map). `targetSumBatch` is not
   * needed here. Throws a SpikedriveError naming the input on a size mismatch.
   */
  private prepare(maps: CostMaps, f: number, item: number): PreparedMaps {
    const { rows: X, cols: Y } = this.grid;
    const cells = X * Y;
    const expect = (name: string, arr: Float32Array | undefined, size: number, shape: string) => {
      if (arr !== undefined && arr.length !== size) {
        throw new SpikedriveError(
          `Planner ${name} of batch item ${item} has ${arr.length} values, expected ${shape} = ${size}`,
          {
            subject: name,
            fix: 'Pass future-frame maps on the LIFT grid (rows = x forward, columns = y left), one per future frame.',
          },
        );
      }
    };
    expect('occupancy', maps.occupancy, f * cells, `[${f}, ${X}, ${Y}]`);
    expect('costVolume', maps.costVolume, f * cells, `[${f}, ${X}, ${Y}]`);
    const c = maps.hdmap.channels === 'masks' ? 2 : 4;
    expect('hdmap', maps.hdmap.data, cells * c, `[${X}, ${Y}, ${c}]`);
    const { lane, drivable } = processHdMap(maps.hdmap, cells);
    const dangerous = new Float32Array(cells);
    for (let i = 0; i < cells; i++) dangerous[i] = drivable[i] === 0 ? 1 : 0;
    const headway = new Float32Array(f * cells);
    for (let t = 0; t < f; t++) {
      const o = t * cells;
      for (let i = 0; i < cells; i++) headway[o + i] = f32(maps.occupancy[o + i] * drivable[i]);
    }
    return {
      occupancy: maps.occupancy,
      occupancySat: summedAreaTables(maps.occupancy, f, X, Y),
      headwaySat: summedAreaTables(headway, f, X, Y),
      dangerousSat: summedAreaTables(dangerous, 1, X, Y),
      headway,
      dangerous,
      lane: laneDistanceCosts(lane, this.grid, COST_CONSTANTS.laneDistanceM),
      costVolume: maps.costVolume ?? null,
    };
  }

  /**
   * Scores candidates on the host. `candidates` is [N, F, 3] (or [N, F, 2]: pass `stride` 2) in the LIDAR frame;
   * `target` the progress target point and `targetSumBatch` the sum of all batch items' targets (the reference
   * tests the whole batch). When `maps.costVolume` is absent the cost volume term is left out (see `scoreTensors`).
   */
  score(
    candidates: Float32Array,
    n: number,
    f: number,
    maps: CostMaps,
    options: {
      target?: readonly [number, number];
      targetSumBatch?: number;
      stride?: number;
      item?: number;
    } = {},
  ): CostBreakdown {
    this.checkBuffers();
    const stride = options.stride ?? 3;
    if (candidates.length !== n * f * stride) {
      throw new SpikedriveError(
        `Candidates have ${candidates.length} values, expected [${n}, ${f}, ${stride}] = ${n * f * stride}`,
        { subject: 'candidates', fix: 'Pass candidate waypoints without the origin, [N, F, 3] = [x, y, θ].' },
      );
    }
    const prepared = this.prepare(maps, f, options.item ?? 0);
    const target = options.target ?? [0, 0];
    const targetSum = options.targetSumBatch ?? target[0] + target[1];
    return this.scorePrepared(candidates, n, f, stride, prepared, target, targetSum);
  }

  private scorePrepared(
    candidates: Float32Array,
    n: number,
    f: number,
    stride: number,
    maps: PreparedMaps,
    target: readonly [number, number],
    targetSum: number,
  ): CostBreakdown {
    const { rows: X, cols: Y, resolutionM: dx, startM: bx } = this.grid;
    const cellsPerFrame = X * Y;
    const w = this.weights;
    const [w0, w1] = this.safetyW;
    const fp = this.footprint.rect as { rows: Int32Array; cols: Int32Array };
    const sfp = this.safetyFootprint.rect as { rows: Int32Array; cols: Int32Array };
    const rowsA = new Int32Array(fp.rows.length);
    const colsA = new Int32Array(fp.cols.length);
    const rowsH = new Int32Array(fp.rows.length);
    const rowsS = new Int32Array(sfp.rows.length);
    const colsS = new Int32Array(sfp.cols.length);
    const out: CostBreakdown = {
      n,
      f,
      safety: new Float32Array(n * f),
      headway: new Float32Array(n * f),
      laneDivider: new Float32Array(n * f),
      costVolume: maps.costVolume === null ? null : new Float32Array(n * f),
      rule: new Float32Array(n * f),
      comfort: new Float32Array(n),
      progress: new Float32Array(n),
      fo: new Float32Array(n * f),
      fc: new Float32Array(n),
      total: maps.costVolume === null ? null : new Float32Array(n),
      cells: new Int32Array(n * f),
    };
    const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : Math.min(v, hi));
    const fillIndex = (target: Int32Array, offsets: Int32Array, base: number, limit: number) => {
      for (let k = 0; k < offsets.length; k++) target[k] = clampCell(f32(base + offsets[k]), limit);
    };
    // Σ map[rows × cols] of one plane: O(1) from the summed-area table when the clamped indices are consecutive
    // (everywhere but at the grid border), else cell by cell. Sums run in float64 and are rounded once: exact for the
    // 0/1 maps SAD plans on; for probability maps within an ulp of the reference's float32 sum.
    const Y1 = Y + 1;
    const planeSize = (X + 1) * Y1;
    const sumRect = (
      map: Float32Array,
      sat: Float64Array,
      plane: number,
      rows: Int32Array,
      cols: Int32Array,
    ): number => {
      const nr = rows.length;
      const nc = cols.length;
      const r0 = rows[0];
      const r1 = rows[nr - 1];
      const c0 = cols[0];
      const c1 = cols[nc - 1];
      if (r1 - r0 === nr - 1 && c1 - c0 === nc - 1) {
        const o = plane * planeSize;
        return f32(
          sat[o + (r1 + 1) * Y1 + c1 + 1] -
            sat[o + r0 * Y1 + c1 + 1] -
            sat[o + (r1 + 1) * Y1 + c0] +
            sat[o + r0 * Y1 + c0],
        );
      }
      const o = plane * cellsPerFrame;
      let sum = 0;
      for (let i = 0; i < nr; i++) {
        const r = o + rows[i] * Y;
        for (let j = 0; j < nc; j++) sum += map[r + cols[j]];
      }
      return f32(sum);
    };
    const left = new Float32Array(f);
    const fwd = new Float32Array(f);
    for (let m = 0; m < n; m++) {
      for (let t = 0; t < f; t++) {
        const o = (m * f + t) * stride;
        left[t] = -candidates[o]; // trajs * [-1, 1]: (left, forward)
        fwd[t] = candidates[o + 1];
      }
      for (let t = 0; t < f; t++) {
        const i = m * f + t;
        const frame = t * cellsPerFrame;
        // get_points: trajs / dx gives (left/dx[0], fwd/dx[1]); swapped to (row, col); + footprint cells.
        const rowBase = f32(fwd[t] / dx[1]);
        const colBase = f32(left[t] / dx[0]);
        fillIndex(rowsA, fp.rows, rowBase, X);
        fillIndex(colsA, fp.cols, colBase, Y);
        fillIndex(rowsS, sfp.rows, rowBase, X);
        fillIndex(colsS, sfp.cols, colBase, Y);
        fillIndex(rowsH, fp.rows, f32(f32(fwd[t] + COST_CONSTANTS.headwayM) / dx[1]), X);
        // Safety: occupied cells under the footprint + under the enlarged footprint × speed (‖Δp‖ / 0.5 s).
        const dl = t === 0 ? left[0] : f32(left[t] - left[t - 1]);
        const df = t === 0 ? fwd[0] : f32(fwd[t] - fwd[t - 1]);
        const speed = f32(Math.sqrt(f32(f32(dl * dl) + f32(df * df))) / COST_CONSTANTS.dtS);
        const occ1 = sumRect(maps.occupancy, maps.occupancySat, t, rowsA, colsA);
        const occ2 = f32(sumRect(maps.occupancy, maps.occupancySat, t, rowsS, colsS) * speed);
        const safety = f32(f32(f32(occ1 * w0) + f32(occ2 * w1)) * f32(w.SAFETY));
        out.safety[i] = clamp(safety, 0, 100);
        out.headway[i] = clamp(
          f32(sumRect(maps.headway, maps.headwaySat, t, rowsH, colsA) * f32(w.HEADWAY)),
          0,
          100,
        );
        out.rule[i] = clamp(
          f32(sumRect(maps.dangerous, maps.dangerousSat, 0, rowsA, colsA) * COST_CONSTANTS.ruleWeight),
          0,
          100,
        );
        // discretize: row = trunc((fwd − bx[0]) / dx[0]), col = trunc((left − bx[1]) / dx[1]), clamped.
        const row = clampCell(f32(f32(fwd[t] - bx[0]) / dx[0]), X);
        const col = clampCell(f32(f32(left[t] - bx[1]) / dx[1]), Y);
        const cell = row * Y + col;
        out.cells[i] = frame + cell;
        out.laneDivider[i] = clamp(f32(maps.lane[cell] * f32(w.LRDIVIDER)), 0, 100);
        let fo = f32(f32(out.safety[i] + out.headway[i]) + out.laneDivider[i]);
        if (maps.costVolume !== null && out.costVolume !== null) {
          const cv = clamp(maps.costVolume[frame + cell], 0, 1000);
          out.costVolume[i] = clamp(f32(cv * f32(w.VOLUME)), 0, 100);
          fo = f32(fo + out.costVolume[i]);
        }
        out.fo[i] = f32(fo + out.rule[i]);
      }
      out.comfort[m] = clamp(comfortCost(left, fwd, f, f32(w.COMFORT)), 0, 100);
      out.progress[m] = clamp(progressCost(left, fwd, f, target, targetSum, f32(w.PROGRESS)), -100, 100);
      out.fc[m] = f32(out.comfort[m] + out.progress[m]);
      if (out.total !== null) {
        let s = 0;
        for (let t = 0; t < f; t++) s = f32(s + out.fo[m * f + t]);
        out.total[m] = f32(out.fc[m] + s);
      }
    }
    return out;
  }

  /**
   * The training path: scores candidates [B, N, F, 3] and returns `fo` [B, N, F] and `fc` [B, N] as tensors whose
   * cost volume term is a gather from `costVolume` [B, F, X, Y] (clamped to [0, 1000], × VOLUME, clamped to
   * [0, 100]), so gradients reach the cost volume head exactly as in the reference. All other terms come from the
   * host maps (they have no gradient in the reference either).
   */
  scoreTensors(
    candidates: Float32Array,
    shape: readonly [number, number, number],
    maps: readonly CostMaps[],
    costVolume: tf.Tensor,
    targets: readonly (readonly [number, number])[],
  ): { fo: tf.Tensor3D; fc: tf.Tensor2D; breakdowns: CostBreakdown[] } {
    const [B, N, F] = shape;
    const { rows: X, cols: Y } = this.grid;
    checkCostVolumeShape(costVolume, B, F, X, Y);
    const targetSum = targets.reduce((s, t) => s + t[0] + t[1], 0);
    const breakdowns: CostBreakdown[] = [];
    const partial = new Float32Array(B * N * F);
    const rule = new Float32Array(B * N * F);
    const fc = new Float32Array(B * N);
    const cells = new Int32Array(B * N * F);
    this.checkBuffers();
    for (let b = 0; b < B; b++) {
      const prepared = this.prepare({ ...maps[b], costVolume: undefined }, F, b);
      const slice = candidates.subarray(b * N * F * 3, (b + 1) * N * F * 3);
      const r = this.scorePrepared(slice, N, F, 3, prepared, targets[b] ?? [0, 0], targetSum);
      breakdowns.push(r);
      for (let i = 0; i < N * F; i++) {
        partial[b * N * F + i] = f32(f32(r.safety[i] + r.headway[i]) + r.laneDivider[i]);
        rule[b * N * F + i] = r.rule[i];
        cells[b * N * F + i] = b * F * X * Y + r.cells[i];
      }
      fc.set(r.fc, b * N);
    }
    const w = this.weights;
    const fo = tf.tidy(() => {
      const flat = tf.reshape(costVolume, [-1]);
      const picked = gatherFlat(tf.clipByValue(flat, 0, 1000), cells);
      const volume = tf.clipByValue(tf.mul(picked, f32(w.VOLUME)), 0, 100);
      return tf.reshape(tf.add(tf.add(tf.tensor1d(partial), volume), tf.tensor1d(rule)), [
        B,
        N,
        F,
      ]) as tf.Tensor3D;
    });
    return { fo, fc: tf.tensor2d(fc, [B, N]), breakdowns };
  }
}

/**
 * values[indices] for a 1-D tensor, differentiable on every back end: the backward pass scatter-adds on the host
 * (tfjs's own gather gradient needs UnsortedSegmentSum, which the wasm back end lacks).
 */
export function gatherFlat(values: tf.Tensor, indices: Int32Array): tf.Tensor1D {
  const size = values.size;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const value = tf.tidy(() => tf.gather(x, tf.tensor1d(indices, 'int32')));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync();
        const out = new Float32Array(size);
        for (let i = 0; i < indices.length; i++) out[indices[i]] += g[i];
        return tf.tensor1d(out);
      },
    };
  });
  return op(tf.reshape(values, [-1])) as tf.Tensor1D;
}

function checkCostVolumeShape(costVolume: tf.Tensor, B: number, F: number, X: number, Y: number): void {
  const s = costVolume.shape;
  const ok =
    (s.length === 4 || (s.length === 5 && s[4] === 1)) &&
    s[0] === B &&
    s[1] === F &&
    s[2] === X &&
    s[3] === Y;
  if (!ok) {
    throw new SpikedriveError(
      `The planner's cost volume has shape [${s.join(', ')}], expected [${B}, ${F}, ${X}, ${Y}]`,
      {
        subject: 'costVolume',
        fix: 'Pass the costvolume head over the future frames only ([B, F, X, Y], or with a trailing 1).',
      },
    );
  }
}

/** Summed-area tables of `planes` maps [X, Y]: S[p, r, c] = Σ map[p, < r, < c], float64, [planes, X + 1, Y + 1]. */
export function summedAreaTables(map: Float32Array, planes: number, X: number, Y: number): Float64Array {
  const Y1 = Y + 1;
  const out = new Float64Array(planes * (X + 1) * Y1);
  for (let p = 0; p < planes; p++) {
    const o = p * (X + 1) * Y1;
    const m = p * X * Y;
    for (let r = 0; r < X; r++) {
      let rowSum = 0;
      const up = o + r * Y1;
      const here = o + (r + 1) * Y1;
      for (let c = 0; c < Y; c++) {
        rowSum += map[m + r * Y + c];
        out[here + c + 1] = out[up + c + 1] + rowSum;
      }
    }
  }
  return out;
}

/** `int(LAMBDA / dx[0])`: the safety margin in cells, which `get_origin_points` then adds in metres. */
export function safetyLambdaCells(lambdaM: number, grid: BevGrid): number {
  return Math.trunc(f32(f32(lambdaM) / grid.resolutionM[0]));
}

/** Lane divider and drivable area as the reference's cost terms see them ([X·Y] each). */
export function processHdMap(
  hdmap: HdMapInput,
  cells: number,
): { lane: Float32Array; drivable: Float32Array } {
  const lane = new Float32Array(cells);
  const drivable = new Float32Array(cells);
  const d = hdmap.data;
  if (hdmap.channels === 'masks') {
    for (let i = 0; i < cells; i++) {
      lane[i] = d[i * 2];
      drivable[i] = d[i * 2 + 1];
    }
    return { lane, drivable };
  }
  for (let i = 0; i < cells; i++) {
    const l = softmaxForeground(d[i * 4], d[i * 4 + 1]);
    const a = softmaxForeground(d[i * 4 + 2], d[i * 4 + 3]);
    lane[i] = l <= 0.5 ? 0 : l; // LR_divider: mask = lane <= 0.5
    drivable[i] = a < 0.5 ? 0 : a; // Headway / Rule: mask = drivable < 0.5
  }
  return { lane, drivable };
}

/** softmax([bg, fg])[1] in float32 as torch computes it (subtract the max, exponentiate, normalise). */
export function softmaxForeground(bg: number, fg: number): number {
  // exp(x − max) is exactly 1 for the larger logit, so one exponential suffices.
  const e0 = bg >= fg ? 1 : f32(Math.exp(f32(bg - fg)));
  const e1 = fg >= bg ? 1 : f32(Math.exp(f32(fg - bg)));
  return f32(e1 / f32(e0 + e1));
}

/**
 * `LR_divider` per cell: d = metric distance to the nearest non-zero lane pixel (offsets scaled by the reversed
 * dx, as the reference), cost (L − d)² if d ≤ L else 0; all zeros when the map has no lane pixel.
 */
export function laneDistanceCosts(lane: Float32Array, grid: BevGrid, limitM: number): Float32Array {
  const { rows: X, cols: Y } = grid;
  // (yx − index) * reversed(dx): row offsets × dx[1], column offsets × dx[0].
  const sr = grid.resolutionM[1];
  const sc = grid.resolutionM[0];
  const reachR = Math.ceil(limitM / sr);
  const reachC = Math.ceil(limitM / sc);
  const offsets: { dr: number; dc: number; d: number }[] = [];
  for (let dr = -reachR; dr <= reachR; dr++) {
    for (let dc = -reachC; dc <= reachC; dc++) {
      const a = f32(dr * sr);
      const b = f32(dc * sc);
      const d = f32(Math.sqrt(f32(f32(a * a) + f32(b * b))));
      if (d <= limitM) offsets.push({ dr, dc, d });
    }
  }
  offsets.sort((p, q) => p.d - q.d);
  const out = new Float32Array(X * Y);
  let any = false;
  for (let i = 0; i < lane.length; i++) {
    if (lane[i] !== 0) {
      any = true;
      break;
    }
  }
  if (!any) return out;
  for (let r = 0; r < X; r++) {
    for (let c = 0; c < Y; c++) {
      for (const { dr, dc, d } of offsets) {
        const rr = r - dr;
        const cc = c - dc;
        if (rr < 0 || rr >= X || cc < 0 || cc >= Y || lane[rr * Y + cc] === 0) continue;
        const g = f32(limitM - d);
        out[r * Y + c] = f32(g * g);
        break;
      }
    }
  }
  return out;
}

/**
 * `Comfort`: finite-difference lateral/longitudinal velocity (first step from the origin) and acceleration (0 at
 * step 0), max |·| over time; jerk from the speed magnitude (0 at steps 0–1); Σ clamp(|a| − 3, 0, 30)² (lateral,
 * longitudinal) + clamp(|jerk| − 1, 0, 20)², × weight.
 */
export function comfortCost(left: Float32Array, fwd: Float32Array, f: number, weight: number): number {
  const dt = COST_CONSTANTS.dtS;
  let latAcc = 0;
  let lonAcc = 0;
  let jerk = 0;
  let prevLat = 0;
  let prevLon = 0;
  let prevSpeed = 0;
  let prevAcc = 0;
  for (let t = 0; t < f; t++) {
    const dl = t === 0 ? left[0] : f32(left[t] - left[t - 1]);
    const df = t === 0 ? fwd[0] : f32(fwd[t] - fwd[t - 1]);
    const latV = f32(dl / dt);
    const lonV = f32(df / dt);
    const speed = f32(Math.sqrt(f32(f32(dl * dl) + f32(df * df))) / dt);
    if (t >= 1) {
      latAcc = Math.max(latAcc, Math.abs(f32(f32(latV - prevLat) / dt)));
      lonAcc = Math.max(lonAcc, Math.abs(f32(f32(lonV - prevLon) / dt)));
      const acc = f32(f32(speed - prevSpeed) / dt);
      if (t >= 2) jerk = Math.max(jerk, Math.abs(f32(f32(acc - prevAcc) / dt)));
      prevAcc = acc;
    }
    prevLat = latV;
    prevLon = lonV;
    prevSpeed = speed;
  }
  const clamp = (v: number, hi: number) => (v < 0 ? 0 : Math.min(v, hi));
  const a = clamp(f32(latAcc - COST_CONSTANTS.lateralAccel), 30);
  const b = clamp(f32(lonAcc - COST_CONSTANTS.longitudinalAccel), 30);
  const j = clamp(f32(jerk - COST_CONSTANTS.jerk), 20);
  const sum = f32(f32(f32(0 + f32(a * a)) + f32(b * b)) + f32(j * j));
  return f32(sum * weight);
}

/** `Progress`: (‖final − target‖² if the batch's targets sum to ≥ 0.5, else 0) − max forward, × weight. */
export function progressCost(
  left: Float32Array,
  fwd: Float32Array,
  f: number,
  target: readonly [number, number],
  targetSumBatch: number,
  weight: number,
): number {
  let maxFwd = -Infinity;
  for (let t = 0; t < f; t++) if (fwd[t] > maxFwd) maxFwd = fwd[t];
  let toTarget = 0;
  if (!(targetSumBatch < 0.5)) {
    // The reference compares the x-flipped waypoint (left, forward) with the target as given.
    const a = f32(left[f - 1] - f32(target[0]));
    const b = f32(fwd[f - 1] - f32(target[1]));
    toTarget = f32(f32(a * a) + f32(b * b));
  }
  return f32(f32(toTarget - maxFwd) * weight);
}
