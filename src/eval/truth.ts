// What the metrics compare against, for one SAD sample: the labels warped to the present frame (the reference
// trainer's `prepare_future_labels`), from the present frame on, plus the GT trajectory, the command and the CAN
// inputs of the planner's sampler.
import {
  prepareFutureLabels,
  type SadDataset,
  type SadSample,
  type SadSamplerInputs,
} from '../../data-loaders/sad/index.ts';
import type { PlanningCommand } from '../planning/index.ts';
import { SpikedriveError } from '../util/index.ts';

export interface SampleTruth {
  /** Position in the dataset (seeds the sampler). */
  datasetIndex: number;
  token: string;
  sceneToken: string;
  sceneName: string;
  timestampUs: number;
  /** Past/present frames S and future frames F. */
  receptiveField: number;
  nFuture: number;
  rows: number;
  cols: number;
  /** [F + 1, X, Y] vehicle occupancy 0/1, the present frame first. */
  segmentation: Uint8Array;
  /** [F + 1, X, Y] pedestrian occupancy 0/1. */
  pedestrian: Uint8Array;
  /** [F + 1, X, Y] vehicle instance ids (0 background), when asked for. */
  instance?: Int32Array;
  /** [2, X, Y] present HD map 0/1: lane divider, drivable area (absent without map expansions). */
  hdmap?: Uint8Array;
  /** [F, X, Y] vehicle ∨ pedestrian in each future frame: what the planning collision metric checks. */
  occupancy: Uint8Array;
  /** [F + 1, 3] [x right, y forward, yaw] in the present LIDAR_TOP frame; row 0 is the origin. */
  gtTrajectory: Float32Array;
  command: PlanningCommand;
  samplerInputs?: SadSamplerInputs;
}

/** The map elements the evaluator reports, in the order of `SampleTruth.hdmap` and the frames' `hdmap`. */
export const HDMAP_ELEMENTS = ['lane_divider', 'drivable_area'] as const;

/** Channel positions of lane divider and drivable area in the dataset's `hdmapElements`. */
export function hdmapChannels(elements: readonly string[]): [number, number] | null {
  const lane = elements.indexOf('lane_divider');
  const drivable = elements.indexOf('drivable_area');
  return lane >= 0 && drivable >= 0 ? [lane, drivable] : null;
}

/** Builds the truth of a sample the dataset has loaded (labels only; images are not read here). */
export function sampleTruth(
  dataset: SadDataset,
  sample: SadSample,
  options: { instance?: boolean } = {},
): SampleTruth {
  const S = sample.receptiveField;
  const F = sample.nFutureFrames;
  const { rows, cols } = dataset.grid;
  const cells = rows * cols;
  const labels = prepareFutureLabels(sample, {
    pedestrian: true,
    instance: options.instance ?? false,
    flow: false,
  });
  const from = (S - 1) * cells;
  const to = (S + F) * cells;
  const segmentation = labels.segmentation.data.slice(from, to);
  const pedestrian = (labels.pedestrian?.data ?? new Uint8Array(to)).slice(from, to);
  const occupancy = new Uint8Array(F * cells);
  for (let i = 0; i < F * cells; i++) {
    occupancy[i] = segmentation[cells + i] || pedestrian[cells + i] ? 1 : 0;
  }
  let hdmap: Uint8Array | undefined;
  if (labels.hdmap) {
    const channels = hdmapChannels(dataset.options.hdmapElements);
    if (channels) {
      hdmap = new Uint8Array(2 * cells);
      hdmap.set(labels.hdmap.data.subarray(channels[0] * cells, (channels[0] + 1) * cells), 0);
      hdmap.set(labels.hdmap.data.subarray(channels[1] * cells, (channels[1] + 1) * cells), cells);
    }
  }
  const token = sample.sampleTokens[S - 1];
  const record = dataset.nusc.get('sample', token);
  if (sample.gtTrajectory.data.length !== (F + 1) * 3) {
    throw new SpikedriveError(
      `sample ${token}: GT trajectory has ${sample.gtTrajectory.data.length / 3} points`,
      {
        subject: `sample#${token}`,
        fix: `Each sample needs ${F} future keyframes in its scene (N_FUTURE_FRAMES).`,
      },
    );
  }
  return {
    datasetIndex: sample.index,
    token,
    sceneToken: record.scene_token,
    sceneName: sample.sceneName,
    timestampUs: record.timestamp,
    receptiveField: S,
    nFuture: F,
    rows,
    cols,
    segmentation,
    pedestrian,
    instance: labels.instance ? labels.instance.data.slice(from, to) : undefined,
    hdmap,
    occupancy,
    gtTrajectory: sample.gtTrajectory.data,
    command: sample.command,
    samplerInputs: sample.samplerInputs,
  };
}

/** The GT future without its origin, [F, 3] (what the planning metric scores against). */
export function gtFuture(truth: SampleTruth): Float32Array {
  return truth.gtTrajectory.slice(3, 3 * (truth.nFuture + 1));
}
