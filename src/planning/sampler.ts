import { SpikedriveError } from '../util/errors.ts';
import { fresnel } from './fresnel.ts';
import { numpyArgsort, pyMod, type UniformSource } from './numpy.ts';

/** The sampler's inputs at one sample: CAN speed and steering (already negated in Singapore). */
export interface SamplerInputs {
  /** CAN `pose.vel[0]`, m/s. */
  v0Mps: number;
  /** CAN `steeranglefeedback.value` (negated in left-hand traffic), radians; κ = 2·steering / 2.588. */
  steeringRad: number;
}

/** κ = 2·steering / 2.588 (`get_trajectory_sampling`; positive = left). */
export function curvatureFromSteering(steeringRad: number): number {
  return (2 * steeringRad) / 2.588;
}

export interface SamplerOptions {
  /** `PLANNING.SAMPLE_NUM`: 1800 in SAD (360 straight, 720 left, 720 right). */
  sampleNum: number;
  /** `N_FUTURE_FRAMES`: waypoints after the origin (6 = 3 s). */
  nFutureFrames: number;
  /** Seconds between frames (the loader's `SAMPLE_INTERVAL`, 0.5). */
  frameIntervalS?: number;
}

/**
 * Candidate trajectories [sampleNum, F + 1, 3] of [x right, y forward, θ] (metres, radians, θ counter-clockwise
 * from +y) in the present LIDAR_TOP sensor frame; waypoint 0 is the origin. Sorted by final x (left first), so the
 * planner's command thirds are [0, M/3) LEFT, [M/3, 2M/3) FORWARD, [2M/3, M) RIGHT.
 */
export interface CandidateSet {
  data: Float32Array;
  shape: [number, number, 3];
}

/**
 * The reference trajectory sampler (`sad/utils/sampler.py` `sample`, called by `get_trajectory_sampling`): with
 * κ = 2·steering/2.588 and times t = i·(interval/10) subsampled every 10th step,
 *  - accelerations a ~ U(−3, 7) m/s², speeds v0 with probability 0.2 else U(0, 15) m/s, arc length L = v·t + a·t²/2;
 *  - the first 20 % are straight lines (x = 0, θ = 0);
 *  - the other 80 % are circles (probability 0.2; curvature clamped to |κ| ≥ 0.01) or clothoids (0.8; scale
 *    α ~ U(6, 80), Fresnel integrals at (|κ|/π + L)/α, rotated so the start heading matches the circle's);
 *  - the first 40 % of all curves bend the way κ does, the last 40 % are mirrored in x;
 *  - everything is sorted by final x with numpy's (unstable) argsort.
 * Draws come from `uniform` in the reference's exact order (M accelerations, M random speeds, M speed choices,
 * the curves' α, the curves' circle/clothoid choices), so `numpyRandomState(seed)` reproduces
 * `np.random.seed(seed)` there. Computed in float64 and rounded to float32 as the reference's `.float()`.
 */
export function sampleTrajectories(
  inputs: SamplerInputs,
  uniform: UniformSource,
  options: SamplerOptions,
): CandidateSet {
  const { v0Mps, steeringRad } = inputs;
  if (!Number.isFinite(v0Mps) || !Number.isFinite(steeringRad)) {
    throw new SpikedriveError(
      `Sampler inputs must be finite, got v0 ${v0Mps} m/s, steering ${steeringRad} rad`,
      {
        subject: 'samplerInputs',
        fix: 'Check the CAN bus pose/steeranglefeedback messages for this sample.',
      },
    );
  }
  const M = options.sampleNum;
  if (!Number.isInteger(M) || M < 3) {
    throw new SpikedriveError(`PLANNING.SAMPLE_NUM must be an integer ≥ 3, got ${M}`, {
      subject: 'PLANNING.SAMPLE_NUM',
      fix: 'SAD uses 1800.',
    });
  }
  const F = options.nFutureFrames;
  if (!Number.isInteger(F) || F < 1) {
    throw new SpikedriveError(`N_FUTURE_FRAMES must be a positive integer for planning, got ${F}`, {
      subject: 'N_FUTURE_FRAMES',
      fix: 'SAD plans over 6 future frames (3 s).',
    });
  }
  const kappa = curvatureFromSteering(steeringRad);
  const interval = options.frameIntervalS ?? 0.5;
  // np.arange(0, t_end + dt, dt): length ⌈(stop − start)/step⌉, values i·dt; the sampler keeps every 10th.
  const dt = interval / 10;
  const fineLength = Math.ceil((F * interval + dt) / dt);
  const coarse: number[] = [];
  for (let i = 0; i < fineLength; i += 10) coarse.push(i);
  if (coarse.length !== F + 1) {
    throw new SpikedriveError(
      `The sampler's time grid gives ${coarse.length} waypoints for ${F} future frames`,
      {
        subject: 'frameIntervalS',
        fix: 'Use the reference frame interval (0.5 s).',
      },
    );
  }
  // The sort key is the last fine step, which is a kept step unless the fine grid overshoots.
  const lastFine = fineLength - 1;
  const times = coarse.map((i) => i * dt);
  const keyIndex = coarse.indexOf(lastFine);
  const allTimes = keyIndex >= 0 ? times : [...times, lastFine * dt];
  const P = allTimes.length;
  const key = keyIndex >= 0 ? keyIndex : P - 1;

  const straightNum = Math.trunc(M * 0.2);
  const leftNum = Math.trunc(M * 0.4);
  const rightNum = Math.trunc(M * 0.4);
  const curveNum = leftNum + rightNum;
  const total = straightNum + curveNum;

  const accelerations = new Float64Array(M);
  for (let i = 0; i < M; i++) accelerations[i] = 10 * (uniform.next() - 0.5) + 2;
  const randomSpeeds = new Float64Array(M);
  for (let i = 0; i < M; i++) randomSpeeds[i] = 15 * uniform.next();
  const velocities = new Float64Array(M);
  for (let i = 0; i < M; i++) velocities[i] = uniform.next() >= 0.2 ? randomSpeeds[i] : v0Mps;
  const alphas = new Float64Array(curveNum);
  for (let i = 0; i < curveNum; i++) alphas[i] = (80 - 6) * uniform.next() + 6;
  // np.random.choice([0, 1], p=(0.2, 0.8)): cdf [0.2, 1]; searchsorted right → circle iff u < 0.2.
  const isCircle = new Uint8Array(curveNum);
  for (let i = 0; i < curveNum; i++) isCircle[i] = uniform.next() < 0.2 ? 1 : 0;

  // Float64 candidates [total, P, 3] in the reference's concatenation order [left curves, lines, right curves].
  const out = new Float64Array(total * P * 3);
  const arc = (m: number, t: number) => velocities[m] * t + (accelerations[m] * (t * t)) / 2;
  const put = (row: number, p: number, x: number, y: number, theta: number) => {
    const o = (row * P + p) * 3;
    out[o] = x;
    out[o + 1] = y;
    out[o + 2] = theta;
  };

  // Circles: κ clamped away from 0; centre (−1/κ, 0); right turns measure the angle from π.
  const krappa = kappa <= 0 ? Math.min(-0.01, kappa) : Math.max(0.01, kappa);
  const radius = Math.abs(1 / krappa);
  const centreX = -1 / krappa;
  // Clothoids: normal N0 = (1, 0) for κ ≤ 0 (bends right), (−1, 0) for κ > 0; start angle θ0 = (π/2)(κ/π/α)².
  const n0x = kappa <= 0 ? 1 : -1;
  const xi0 = Math.abs(kappa) / Math.PI;
  const signK = Math.sign(kappa);
  const px = new Float64Array(P);
  const py = new Float64Array(P);

  const curve = (j: number, row: number, mirror: boolean) => {
    const m = straightNum + j;
    const flip = mirror ? -1 : 1;
    if (isCircle[j]) {
      for (let p = 0; p < P; p++) {
        const L = arc(m, allTimes[p]);
        const phi = krappa >= 0 ? L / radius : Math.PI - L / radius;
        const x = centreX + radius * Math.cos(phi);
        const y = 0 + radius * Math.sin(phi);
        const theta = pyMod((krappa >= 0 ? L / radius : -L / radius) + Math.PI, 2 * Math.PI) - Math.PI;
        put(row, p, flip * x, y, flip * theta);
      }
      return;
    }
    const alpha = alphas[j];
    for (let p = 0; p < P; p++) {
      const { s, c } = fresnel((xi0 + arc(m, allTimes[p])) / alpha);
      // α·(C·T0 + S·N0) with T0 = (0, 1): x = α(C·0 + S·n0x), y = α(C·1 + S·0).
      px[p] = alpha * (c * 0 + s * n0x);
      py[p] = alpha * (c * 1 + s * 0);
    }
    const k0 = kappa / Math.PI / alpha;
    const theta0 = 0.5 * Math.PI * (k0 * k0);
    const signedTheta0 = theta0 * signK;
    const cos0 = Math.cos(signedTheta0);
    const sin0 = Math.sin(signedTheta0);
    for (let p = 0; p < P; p++) {
      const xs = px[p] - px[0];
      const ys = py[p] - py[0];
      const x = cos0 * xs + sin0 * ys;
      const y = -sin0 * xs + cos0 * ys;
      const xi = (xi0 + arc(m, allTimes[p])) / alpha;
      const theta = (0.5 * Math.PI * (xi * xi) - theta0) * signK;
      put(row, p, flip * x, y, flip * (pyMod(theta + Math.PI, 2 * Math.PI) - Math.PI));
    }
  };

  // κ > 0: curves [0, left) bend left as drawn, [left, left + right) are mirrored to the right; κ ≤ 0: the first
  // `left` bend right as drawn and become the right set, the rest are mirrored to the left.
  let row = 0;
  if (kappa > 0) {
    for (let j = 0; j < leftNum; j++) curve(j, row++, false);
  } else {
    for (let j = leftNum; j < curveNum; j++) curve(j, row++, true);
  }
  for (let m = 0; m < straightNum; m++, row++) {
    for (let p = 0; p < P; p++) put(row, p, arc(m, allTimes[p]) * 0, arc(m, allTimes[p]) * 1, 0);
  }
  if (kappa > 0) {
    for (let j = leftNum; j < curveNum; j++) curve(j, row++, true);
  } else {
    for (let j = 0; j < leftNum; j++) curve(j, row++, false);
  }

  const finalX = new Float64Array(total);
  for (let i = 0; i < total; i++) finalX[i] = out[(i * P + key) * 3];
  const order = numpyArgsort(finalX);
  const W = F + 1;
  const data = new Float32Array(total * W * 3);
  for (let i = 0; i < total; i++) {
    const src = order[i];
    for (let p = 0; p < W; p++) {
      for (let k = 0; k < 3; k++) data[(i * W + p) * 3 + k] = out[(src * P + p) * 3 + k];
    }
  }
  return { data, shape: [total, W, 3] };
}
