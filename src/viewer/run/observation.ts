// What a planner sees, rebuilt from a replayed run frame: occupancy, HD map, cost volume, command, candidates and
// the GT future, laid out as `src/planning`'s PlannerInputs. Used to re-plan a replayed frame with another planner
// and to write ground-truth runs, so both feed planners the same way.
import { COMMAND_NAMES, type DecodedFrame, type FrameTypedArray, frameArray } from '../../eval/run-format.ts';
import type { EgoState, PlannerInputs, PlanningCommand } from '../../planning/index.ts';
import { SpikedriveError } from '../../util/index.ts';

export type ObservationInputs = { sampleToken: string } & Partial<PlannerInputs>;

/** [2, X, Y] planes → [X, Y, 2] channels-last, values × scale. */
export function channelsLast(
  planes: FrameTypedArray,
  channels: number,
  cells: number,
  scale: number,
): Float32Array {
  const out = new Float32Array(cells * channels);
  for (let c = 0; c < channels; c++)
    for (let i = 0; i < cells; i++) out[i * channels + c] = planes[c * cells + i] * scale;
  return out;
}

/** [F, X, Y] future occupancy probability (vehicle ∨ pedestrian) from [S′, X, Y] bytes, skipping the present. */
export function futureOccupancy(
  segmentation: Uint8Array,
  pedestrian: Uint8Array | undefined,
  F: number,
  cells: number,
): Float32Array {
  const out = new Float32Array(F * cells);
  for (let f = 0; f < F; f++) {
    const src = (f + 1) * cells;
    for (let i = 0; i < cells; i++) {
      const v = Math.max(segmentation[src + i], pedestrian ? pedestrian[src + i] : 0);
      out[f * cells + i] = v / 255;
    }
  }
  return out;
}

/** A command's third placed in a full [3M, F, 3] candidate array (the other thirds repeat it; planners read only theirs). */
export function fullCandidateSet(third: Float32Array, M: number, F: number): Float32Array {
  const out = new Float32Array(3 * M * F * 3);
  for (let k = 0; k < 3; k++) out.set(third, k * M * F * 3);
  return out;
}

/** The planner inputs a run frame holds (missing arrays leave their input out; the planner then says what it lacks). */
export function observationFromFrame(
  frame: DecodedFrame,
  options: { nFuture: number; rows: number; cols: number; egoState?: EgoState },
): ObservationInputs {
  const F = options.nFuture;
  const cells = options.rows * options.cols;
  const obs: ObservationInputs = { sampleToken: frame.token };
  const seg = frameArray<Uint8Array>(frame, 'segmentation', 'uint8');
  const ped = frameArray<Uint8Array>(frame, 'pedestrian', 'uint8');
  if (seg) {
    if (seg.data.length < (F + 1) * cells) {
      throw new SpikedriveError(
        `frame ${frame.token}: segmentation holds ${seg.shape[0]} frames, expected ${F + 1}`,
        {
          subject: 'segmentation',
          fix: 'The run manifest and its frames disagree on N_FUTURE_FRAMES; re-run `spikedrive eval`.',
        },
      );
    }
    obs.occupancy = {
      data: futureOccupancy(seg.data, ped?.data, F, cells),
      shape: [F, options.rows, options.cols],
    };
  }
  const hd = frameArray<Uint8Array>(frame, 'hdmap', 'uint8');
  if (hd) {
    obs.hdmap = {
      data: channelsLast(hd.data, 2, cells, 1 / 255),
      shape: [options.rows, options.cols, 2],
      channels: 'masks',
    };
  }
  const cost = frameArray<Uint8Array>(frame, 'costVolume', 'uint8');
  if (cost) {
    const data = new Float32Array(cost.data.length);
    for (let i = 0; i < data.length; i++) data[i] = cost.data[i] * cost.scale;
    obs.costVolume = { data, shape: [F, options.rows, options.cols] };
  }
  const command = frameArray<Int32Array>(frame, 'command', 'int32');
  if (command) obs.command = COMMAND_NAMES[command.data[0]] as PlanningCommand;
  const candidates = frameArray<Float32Array>(frame, 'candidates', 'float32');
  if (candidates && candidates.shape[0] > 0) {
    const M = candidates.shape[0];
    obs.candidates = { data: fullCandidateSet(candidates.data, M, F), shape: [3 * M, F, 3] };
  }
  const gt = frameArray<Float32Array>(frame, 'gtTrajectory', 'float32');
  if (gt) {
    obs.gtTrajectory = Array.from(
      { length: F },
      (_, t) => [gt.data[3 * (t + 1)], gt.data[3 * (t + 1) + 1], gt.data[3 * (t + 1) + 2]] as const,
    );
  }
  obs.egoState = options.egoState ?? { history: [] };
  return obs;
}
