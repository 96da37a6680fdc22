import { SpikedriveError } from '../../src/util/index.ts';
import { invertRigid4f, matrixToPoseVec, multiply4f, poseVecToMatrix } from './pose.ts';
import { torchCosf, torchSinf } from './torch-trig.ts';

/**
 * Label warping of SAD's trainer (`sad/utils/geometry.py` `warp_features`, `cumulative_warp_features`,
 * `cumulative_warp_features_reverse`, used by `trainer.py` `prepare_future_labels`), as tensor-free
 * typed-array code: an in-plane rotation + translation of BEV maps through torch's `affine_grid` +
 * `grid_sample` (nearest, zero padding, align_corners=False), translation ÷ half-extent, forward axis negated.
 * Hand-written rather than tfjs because nearest sampling decides cells at ties, so torch's float32 steps
 * (linspace, grid, unnormalise, round-half-even) are reproduced one by one.
 */

const f = Math.fround;

/** Sequences of maps, frame-major: data[t][c][row][col]. */
export interface MapSequence<T extends Float32Array | Int32Array | Uint8Array = Float32Array> {
  data: T;
  frames: number;
  channels: number;
  rows: number;
  cols: number;
}

/** torch's CPU `linspace(-1, 1, n)` (float32, AVX2 vectorised halves), then × (n − 1) / n (align_corners=False). */
export function gridBase(n: number): Float32Array {
  const out = new Float32Array(n);
  if (n <= 1) return out;
  const start = -1;
  const end = 1;
  const step = f((end - start) / (n - 1));
  const halfway = Math.floor(n / 2);
  const lanes = 8;
  const vectorised = n - (n % (2 * lanes));
  // `start + step * idx` is compiled to a fused multiply-add (one rounding; exact in float64 here), the
  // lanes of `arange(base, step)` to a rounded product then a rounded sum: this matches torch bit for bit.
  const at = (idx: number) => (idx < halfway ? f(start + step * idx) : f(end - step * (n - idx - 1)));
  for (let block = 0; block < vectorised; block += lanes) {
    const base = at(block);
    for (let k = 0; k < lanes; k++) out[block + k] = f(base + f(k * step));
  }
  for (let idx = vectorised; idx < n; idx++) out[idx] = at(idx);
  for (let i = 0; i < n; i++) out[i] = f(f(out[i] * (n - 1)) / n);
  return out;
}

const baseCache = new Map<number, Float32Array>();
function cachedBase(n: number): Float32Array {
  let base = baseCache.get(n);
  if (!base) {
    base = gridBase(n);
    baseCache.set(n, base);
  }
  return base;
}

/**
 * For each output cell, the input cell it samples (−1 outside: zero padding), for the reference's
 * `warp_features(x, flow)`: angle = flow[5], translation = (−flow[0] / extent[0], flow[1] / extent[1]).
 */
export function warpSourceIndex(
  pose: ArrayLike<number>,
  rows: number,
  cols: number,
  spatialExtent: readonly [number, number],
): Int32Array {
  const angle = f(pose[5]);
  const t0 = f(-f(f(pose[0]) / f(spatialExtent[0])));
  const t1 = f(f(pose[1]) / f(spatialExtent[1]));
  const cos = torchCosf(angle);
  const sin = torchSinf(angle);
  // theta = [[cos, −sin, t1], [sin, cos, t0]]: grid x (columns) then grid y (rows).
  const xs = cachedBase(cols);
  const ys = cachedBase(rows);
  const halfW = f(cols / 2);
  const halfH = f(rows / 2);
  const out = new Int32Array(rows * cols);
  const minusSin = -sin;
  for (let i = 0; i < rows; i++) {
    const y = ys[i];
    for (let j = 0; j < cols; j++) {
      const x = xs[j];
      // base·θᵀ is a BLAS sgemm: x·θ0, then fused multiply-adds (float32 products are exact in float64,
      // so one fround is the FMA's rounding).
      const gx = f(t1 + f(y * minusSin + f(x * cos)));
      const gy = f(t0 + f(y * cos + f(x * sin)));
      // grid_sample's unnormalise (align_corners=False): (g + 1)·size/2 − 0.5, then nearbyint.
      const ix = roundHalfEvenF(f(f(f(gx + 1) * halfW) - 0.5));
      const iy = roundHalfEvenF(f(f(f(gy + 1) * halfH) - 0.5));
      out[i * cols + j] = ix >= 0 && ix < cols && iy >= 0 && iy < rows ? iy * cols + ix : -1;
    }
  }
  return out;
}

function roundHalfEvenF(v: number): number {
  const fl = Math.floor(v);
  const d = v - fl;
  if (d < 0.5) return fl;
  if (d > 0.5) return fl + 1;
  return fl % 2 === 0 ? fl : fl + 1;
}

/** Applies a source-index map to every channel of one frame (nearest, zero padding). */
function applyWarp<T extends Float32Array | Int32Array | Uint8Array>(
  src: T,
  dst: T,
  srcOffset: number,
  dstOffset: number,
  channels: number,
  index: Int32Array,
): void {
  const n = index.length;
  for (let c = 0; c < channels; c++) {
    const s = srcOffset + c * n;
    const d = dstOffset + c * n;
    for (let k = 0; k < n; k++) {
      const i = index[k];
      dst[d + k] = i < 0 ? 0 : src[s + i];
    }
  }
}

/** `warp_features` on one frame [channels, rows, cols]; returns a new array of the same type. */
export function warpFeatures<T extends Float32Array | Int32Array | Uint8Array>(
  x: T,
  channels: number,
  rows: number,
  cols: number,
  pose: ArrayLike<number>,
  spatialExtent: readonly [number, number],
): T {
  const out = new (x.constructor as new (n: number) => T)(x.length);
  applyWarp(x, out, 0, 0, channels, warpSourceIndex(pose, rows, cols, spatialExtent));
  return out;
}

function checkSequence(
  x: MapSequence<Float32Array | Int32Array | Uint8Array>,
  egomotion: ArrayLike<number>,
  frames: number,
): void {
  if (x.data.length !== x.frames * x.channels * x.rows * x.cols) {
    throw new SpikedriveError(
      `map sequence has ${x.data.length} values, but frames·channels·rows·cols = ${x.frames * x.channels * x.rows * x.cols}`,
      {
        subject: 'MapSequence',
        fix: 'Pass data laid out [frames, channels, rows, cols] with matching sizes.',
      },
    );
  }
  if (egomotion.length < frames * 6) {
    throw new SpikedriveError(`ego motion has ${egomotion.length / 6} frames; ${frames} are needed`, {
      subject: 'egomotion',
      fix: 'Pass one 6-DoF ego motion [tx, ty, tz, rx, ry, rz] per frame (the sample’s futureEgomotion).',
    });
  }
}

function poseAt(egomotion: ArrayLike<number>, t: number): number[] {
  return [0, 1, 2, 3, 4, 5].map((k) => egomotion[6 * t + k]);
}

/** Per frame, the source-index map of a cumulative warp, or null where the frame is kept as is. */
export type FrameWarps = (Int32Array | null)[];

/**
 * The index maps of `cumulative_warp_features` over `frames` frames: the last frame is kept; frame t is
 * warped by flow[t]·…·flow[T−2] (the reference's product order: `cum = flow[t−1] @ cum`), composed as 4×4
 * float32 matrices.
 */
export function cumulativeWarps(
  egomotion: ArrayLike<number>,
  frames: number,
  rows: number,
  cols: number,
  spatialExtent: readonly [number, number],
): FrameWarps {
  const warps: FrameWarps = new Array(frames).fill(null);
  if (frames <= 1) return warps;
  let cum = poseVecToMatrix(poseAt(egomotion, frames - 2));
  for (let t = frames - 2; t >= 0; t--) {
    warps[t] = warpSourceIndex(matrixToPoseVec(cum), rows, cols, spatialExtent);
    if (t > 0) cum = multiply4f(poseVecToMatrix(poseAt(egomotion, t - 1)), cum);
  }
  return warps;
}

/**
 * The index maps of `cumulative_warp_features_reverse`: the first frame is kept; frame i is warped by
 * inv(flow[0])·…·inv(flow[i−1]).
 */
export function cumulativeWarpsReverse(
  egomotion: ArrayLike<number>,
  frames: number,
  rows: number,
  cols: number,
  spatialExtent: readonly [number, number],
): FrameWarps {
  const warps: FrameWarps = new Array(frames).fill(null);
  let cum: Float64Array | undefined;
  for (let i = 1; i < frames; i++) {
    const inv = invertRigid4f(poseVecToMatrix(poseAt(egomotion, i - 1)));
    cum = cum === undefined ? inv : multiply4f(cum, inv);
    warps[i] = warpSourceIndex(matrixToPoseVec(cum), rows, cols, spatialExtent);
  }
  return warps;
}

/**
 * The index maps of the trainer's `prepare_future_labels` for a sample of `frames` frames: past frames
 * 0..S−2 warped forward into the present (`cumulative_warp_features` over frames 0..S−1), the present kept,
 * future frames warped back (`cumulative_warp_features_reverse` over frames S−1.. with the ego motions
 * from the present on). Compute once per sample, apply to every label with `applyFrameWarps`.
 */
export function presentFrameWarps(
  egomotion: ArrayLike<number>,
  receptiveField: number,
  frames: number,
  rows: number,
  cols: number,
  spatialExtent: readonly [number, number],
): FrameWarps {
  const S = receptiveField;
  if (!(Number.isInteger(S) && S >= 1 && S <= frames)) {
    throw new SpikedriveError(`receptive field ${S} does not fit a sequence of ${frames} frames`, {
      subject: 'receptiveField',
      fix: 'Use the TIME_RECEPTIVE_FIELD the sample was built with (1 ≤ S ≤ frames).',
    });
  }
  if (egomotion.length < frames * 6) {
    throw new SpikedriveError(
      `ego motion has ${Math.floor(egomotion.length / 6)} frames; ${frames} are needed`,
      {
        subject: 'egomotion',
        fix: 'Pass one 6-DoF ego motion [tx, ty, tz, rx, ry, rz] per frame (the sample’s futureEgomotion).',
      },
    );
  }
  const past = cumulativeWarps(egomotion, S, rows, cols, spatialExtent);
  const future = cumulativeWarpsReverse(
    Array.from(egomotion).slice((S - 1) * 6),
    frames - S + 1,
    rows,
    cols,
    spatialExtent,
  );
  return [...past.slice(0, S - 1), ...future];
}

/** Applies per-frame index maps (nearest, zero padding) to a sequence; frames with null are copied. */
export function applyFrameWarps<T extends Float32Array | Int32Array | Uint8Array>(
  x: MapSequence<T>,
  warps: FrameWarps,
): MapSequence<T> {
  checkSequence(x, new Array(x.frames * 6), x.frames);
  if (warps.length !== x.frames) {
    throw new SpikedriveError(`${warps.length} frame warps for a sequence of ${x.frames} frames`, {
      subject: 'warps',
      fix: 'Compute the warps for the same number of frames as the labels.',
    });
  }
  const frameSize = x.channels * x.rows * x.cols;
  const out = new (x.data.constructor as new (n: number) => T)(x.data.length);
  warps.forEach((index, t) => {
    if (index === null) out.set(x.data.subarray(t * frameSize, (t + 1) * frameSize) as T, t * frameSize);
    else applyWarp(x.data, out, t * frameSize, t * frameSize, x.channels, index);
  });
  return { ...x, data: out };
}

/** `cumulative_warp_features` on a sequence. */
export function cumulativeWarpFeatures<T extends Float32Array | Int32Array | Uint8Array>(
  x: MapSequence<T>,
  egomotion: ArrayLike<number>,
  spatialExtent: readonly [number, number],
): MapSequence<T> {
  checkSequence(x, egomotion, x.frames);
  return applyFrameWarps(x, cumulativeWarps(egomotion, x.frames, x.rows, x.cols, spatialExtent));
}

/** `cumulative_warp_features_reverse` on a sequence. */
export function cumulativeWarpFeaturesReverse<T extends Float32Array | Int32Array | Uint8Array>(
  x: MapSequence<T>,
  egomotion: ArrayLike<number>,
  spatialExtent: readonly [number, number],
): MapSequence<T> {
  checkSequence(x, egomotion, x.frames);
  return applyFrameWarps(x, cumulativeWarpsReverse(egomotion, x.frames, x.rows, x.cols, spatialExtent));
}

/** What `prepare_future_labels` does to one label sequence (see `presentFrameWarps`). */
export function warpToPresent<T extends Float32Array | Int32Array | Uint8Array>(
  x: MapSequence<T>,
  egomotion: ArrayLike<number>,
  receptiveField: number,
  spatialExtent: readonly [number, number],
): MapSequence<T> {
  return applyFrameWarps(
    x,
    presentFrameWarps(egomotion, receptiveField, x.frames, x.rows, x.cols, spatialExtent),
  );
}
