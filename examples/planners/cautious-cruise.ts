/**
 * Example planner plugin: "cautious-cruise".
 *
 * Keeps the present speed straight ahead (like the built-in `constant-velocity`), but brakes so the ego box stops
 * short of the first cell along its path that the *predicted* future occupancy marks as likely occupied. It shows
 * every part of the Planner API v1 (docs/plugins.md):
 *
 *  - `definePlanner({ name, inputs, init, plan })` is the default export; the host checks it when it loads;
 *  - `inputs` declares what the planner reads: the host sends exactly these (`egoState`, `occupancy`) and nothing
 *    else, so undeclared inputs cost nothing to build or transfer;
 *  - `init(ctx)` runs once in the plugin's worker thread, with the run's grid and horizon; its result is `state`;
 *  - `plan(observation, state, ctx)` returns F waypoints [x right, y forward, heading] in the present LIDAR_TOP
 *    frame (metres, radians), or `{ trajectory, meta }` with scalar diagnostics the run files keep.
 *
 * Run it:  spikedrive eval --planner examples/planners/cautious-cruise.ts --out runs/cautious
 * Options: spikedrive eval … --planner-option threshold=0.5 --planner-option marginM=3
 */
import { definePlanner } from '../../src/planning/planner.ts';

interface CruiseState {
  /** Occupancy probability above which a cell counts as blocked. */
  threshold: number;
  /** Distance kept to the first blocked cell, metres (from the ego's front bumper, roughly). */
  marginM: number;
  /** Comfortable deceleration, m/s². */
  brakeMps2: number;
}

function numberOption(options: Readonly<Record<string, unknown>>, key: string, fallback: number): number {
  const value = options[key];
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new Error(`cautious-cruise: option ${key} must be a number, got ${String(value)}`);
  return n;
}

export default definePlanner({
  name: 'cautious-cruise',
  version: '1.0.0',
  description: 'Constant speed straight ahead, braking before predicted occupancy on the path',
  inputs: ['egoState', 'occupancy'],
  init: (ctx): CruiseState => ({
    threshold: numberOption(ctx.options, 'threshold', 0.5),
    marginM: numberOption(ctx.options, 'marginM', 3),
    brakeMps2: numberOption(ctx.options, 'brakeMps2', 3),
  }),
  plan: (obs, state, ctx) => {
    const { rows, cols, resolutionM, startM } = obs.grid;
    const [F] = obs.occupancy.shape;
    const dt = ctx.frameIntervalS;
    const speed = obs.egoState.v0Mps ?? 0;
    // The ego path straight ahead is the grid column at lateral 0 (x right = 0 ↔ y left = 0), plus one column each
    // side for the car's width (1.85 m ≈ 2 cells at 0.5 m; cols are y left, so the centre is at -startM / res).
    const centreCol = Math.trunc((0 - startM[1]) / resolutionM[1]);
    const halfWidthCells = Math.ceil(ctx.ego.widthM / 2 / resolutionM[1]);
    // Distance ahead (metres) of the first blocked cell over any future frame: the conservative choice.
    let freeM = Number.POSITIVE_INFINITY;
    for (let f = 0; f < F; f++) {
      for (let row = Math.trunc((0 - startM[0]) / resolutionM[0]) + 1; row < rows; row++) {
        const aheadM = startM[0] + row * resolutionM[0];
        if (aheadM >= freeM) break;
        for (let c = centreCol - halfWidthCells; c <= centreCol + halfWidthCells; c++) {
          if (c < 0 || c >= cols) continue;
          if (obs.occupancy.data[(f * rows + row) * cols + c] > state.threshold) {
            freeM = Math.min(freeM, aheadM);
            break;
          }
        }
      }
    }
    // Travel at most up to the blocked cell minus half the car and the margin, braking at brakeMps2.
    const stopAtM = Math.max(0, freeM - ctx.ego.lengthM / 2 - state.marginM);
    const trajectory: [number, number, number][] = [];
    let y = 0;
    let v = speed;
    for (let k = 0; k < ctx.nFutureFrames; k++) {
      const brakingDistance = (v * v) / (2 * state.brakeMps2);
      if (y + brakingDistance >= stopAtM) v = Math.max(0, v - state.brakeMps2 * dt);
      y = Math.min(y + v * dt, Math.max(y, stopAtM));
      trajectory.push([0, y, 0]);
    }
    return {
      trajectory,
      meta: { braking: Number.isFinite(freeM), freeAheadM: Number.isFinite(freeM) ? freeM : -1 },
    };
  },
});
