// A run folder made from ground truth, without a model: every "prediction" is the GT label, candidates come from
// SAD's sampler scored by its cost function on the GT maps, and the plan is one of the built-in planners (the GT
// future "expert", the cost function's pick "cost-only", or "constant-velocity"). It is what the app replays before a trained model exists, the
// reference point other runs are compared with, and the test data of the viewer. Manifests say so plainly.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NuScenes } from '../../../data-loaders/nuscenes/index.ts';
import {
  type FutureLabels,
  prepareFutureLabels,
  SadDataset,
  type SadSample,
} from '../../../data-loaders/sad/index.ts';
import { IntersectionOverUnion, PlanningMetric } from '../../eval/index.ts';
import type { DecodedFrame, FrameArrayInput, MetricEntry } from '../../eval/run-format.ts';
import {
  builtinPlanner,
  CostFunction,
  commandThird,
  createPlanner,
  numpyRandomState,
  PLANNING_COMMANDS,
  sampleTrajectories,
} from '../../planning/index.ts';
import { SpikedriveError } from '../../util/index.ts';
import { RunWriter } from './folder.ts';
import { channelsLast, observationFromFrame } from './observation.ts';

export type GroundTruthPlanner = 'expert' | 'cost-only' | 'constant-velocity';

export interface GroundTruthRunOptions {
  dataroot: string;
  version: string;
  out: string;
  /** Scenes to cover (default: every scene of the release). */
  sceneNames?: readonly string[];
  planner?: GroundTruthPlanner;
  /** Future frames (default 6 = 3 s, the planning config). */
  nFutureFrames?: number;
  receptiveField?: number;
  /** Stop after this many samples (tests). */
  limit?: number;
  overwrite?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

const PRESENT_CHANNELS = 2;

/** Row-major [F, X, Y] occupancy of vehicles ∨ pedestrians in the future frames (labels warped to the present). */
function futureOccupancy(labels: FutureLabels, S: number, F: number, cells: number): Uint8Array {
  const out = new Uint8Array(F * cells);
  const seg = labels.segmentation.data;
  const ped = labels.pedestrian?.data;
  for (let f = 0; f < F; f++) {
    const src = (S + f) * cells;
    for (let i = 0; i < cells; i++) out[f * cells + i] = seg[src + i] || (ped ? ped[src + i] : 0) ? 1 : 0;
  }
  return out;
}

/**
 * A stand-in cost volume for runs without a cost head: 1 near GT occupancy fading to 0 over 2 m (a box blur of the
 * occupancy), so the heat-map layer has something truthful to show. Stored as bytes with scale 1/255.
 */
function occupancyCost(occupancy: Uint8Array, F: number, rows: number, cols: number): Uint8Array {
  const cells = rows * cols;
  const out = new Uint8Array(F * cells);
  const r = 4;
  const tmp = new Float32Array(cells);
  for (let f = 0; f < F; f++) {
    const occ = occupancy.subarray(f * cells, (f + 1) * cells);
    // Separable box filter: rows then columns; hand-written because it is eight lines.
    for (let x = 0; x < rows; x++) {
      let acc = 0;
      for (let y = -r; y < cols + r; y++) {
        if (y + r < cols) acc += occ[x * cols + y + r];
        if (y - r - 1 >= 0) acc -= occ[x * cols + y - r - 1];
        if (y >= 0 && y < cols) tmp[x * cols + y] = acc;
      }
    }
    const norm = (2 * r + 1) * (2 * r + 1);
    for (let y = 0; y < cols; y++) {
      let acc = 0;
      for (let x = -r; x < rows + r; x++) {
        if (x + r < rows) acc += tmp[(x + r) * cols + y];
        if (x - r - 1 >= 0) acc -= tmp[(x - r - 1) * cols + y];
        if (x >= 0 && x < rows)
          out[f * cells + x * cols + y] = Math.min(255, Math.round((255 * acc * 3) / norm));
      }
    }
  }
  return out;
}

/** The GT future without its origin, [F, 3]. */
function gtFuture(sample: SadSample, F: number): Float32Array {
  return sample.gtTrajectory.data.slice(3, 3 * (F + 1));
}

function toBytes(values: Uint8Array, from: number, frames: number, cells: number): Uint8Array {
  const out = new Uint8Array(frames * cells);
  for (let i = 0; i < out.length; i++) out[i] = values[from * cells + i] ? 255 : 0;
  return out;
}

function horizonMeans(values: (number | boolean)[], F: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (let h = 1; h <= 3; h++) {
    const steps = 2 * h;
    if (steps > F) {
      out[String(h)] = null;
      continue;
    }
    let sum = 0;
    for (let k = 0; k < steps; k++) sum += Number(values[k]);
    out[String(h)] = sum / steps;
  }
  return out;
}

/** Writes a ground-truth run folder; returns the number of frames written. */
export async function writeGroundTruthRun(options: GroundTruthRunOptions): Promise<number> {
  const planner = options.planner ?? 'expert';
  const F = options.nFutureFrames ?? 6;
  const S = options.receptiveField ?? 3;
  if (!existsSync(options.dataroot) || !existsSync(`${options.dataroot}/${options.version}`)) {
    throw new SpikedriveError(`${options.dataroot} has no ${options.version} release`, {
      subject: options.dataroot,
      fix: 'Pass a nuScenes dataroot (holding v1.0-mini/ or v1.0-trainval/), e.g. the demo from `spikedrive demo-data`.',
    });
  }
  const nusc = new NuScenes({ dataroot: options.dataroot, version: options.version, verbose: false });
  const canBusFolder = join(options.dataroot, 'can_bus');
  const dataset = new SadDataset({
    nusc,
    sceneNames: options.sceneNames ? [...options.sceneNames] : nusc.scenes.map((s) => s.name),
    hdmapFrames: 'present',
    canBus: existsSync(canBusFolder) && readdirSync(canBusFolder).length > 0 ? undefined : null,
    options: { nFutureFrames: F, timeReceptiveField: S },
  });
  const { rows, cols } = dataset.grid;
  const cells = rows * cols;
  const total = Math.min(dataset.length, options.limit ?? Number.POSITIVE_INFINITY);
  const tokens = Array.from({ length: total }, (_, i) => dataset.windowTokens(i)[S - 1]);
  const o = dataset.options;
  const writer = await RunWriter.create(
    options.out,
    {
      label: `${planner} (ground truth) · ${options.version}`,
      spikedrive: { version: '0.1.0' },
      config: {
        producer: 'ground-truth',
        note: 'No model ran: predictions are the GT labels warped to the present frame.',
        TIME_RECEPTIVE_FIELD: S,
        N_FUTURE_FRAMES: F,
        LIFT: { X_BOUND: o.xBound, Y_BOUND: o.yBound },
      },
      configHash: `ground-truth-${planner}-S${S}-F${F}`,
      seed: 0,
      backend: { name: 'none', version: '-', threads: 1 },
      dataset: {
        dataroot: options.dataroot,
        version: options.version,
        split: 'scenes',
        sampleTokens: tokens,
      },
      checkpoint: null,
      planner: { name: planner, source: 'builtin', apiVersion: 1 },
      energyProfile: 'none',
      bev: {
        xBound: [...o.xBound] as [number, number, number],
        yBound: [...o.yBound] as [number, number, number],
        rows,
        cols,
      },
      nFuture: F,
      receptiveField: S,
    },
    { overwrite: options.overwrite },
  );
  const planning = new PlanningMetric({ nFuture: F, xBound: o.xBound, yBound: o.yBound });
  const iouVehicle = new IntersectionOverUnion(2);
  const iouPedestrian = new IntersectionOverUnion(2);
  const sampleNum = 1800;
  const costFunction = new CostFunction({ xBound: o.xBound, yBound: o.yBound });
  const plannerInstance = await createPlanner(builtinPlanner(planner), {
    xBound: o.xBound,
    yBound: o.yBound,
    nFutureFrames: F,
    sampleNum,
  });
  try {
    for (let i = 0; i < total; i++) {
      if (options.signal?.aborted) break;
      const sample = dataset.getLabels(i);
      const labels = prepareFutureLabels(sample, { instance: false, flow: false });
      const occupancy = futureOccupancy(labels, S, F, cells);
      const seg = toBytes(labels.segmentation.data, S - 1, F + 1, cells);
      const ped = toBytes(labels.pedestrian?.data ?? new Uint8Array((S + F) * cells), S - 1, F + 1, cells);
      const gtSeg = labels.segmentation.data.slice((S - 1) * cells, (S + F) * cells);
      const gtPed = (labels.pedestrian?.data ?? new Uint8Array((S + F) * cells)).slice(
        (S - 1) * cells,
        (S + F) * cells,
      );
      iouVehicle.update(gtSeg, gtSeg);
      iouPedestrian.update(gtPed, gtPed);
      const hd = labels.hdmap?.data ?? new Uint8Array(PRESENT_CHANNELS * cells);
      const costBytes = occupancyCost(occupancy, F, rows, cols);
      const arrays: Record<string, FrameArrayInput> = {
        segmentation: {
          dtype: 'uint8',
          shape: [F + 1, rows, cols],
          data: seg,
          meaning: 'GT vehicle occupancy ×255 (ground-truth run)',
        },
        pedestrian: {
          dtype: 'uint8',
          shape: [F + 1, rows, cols],
          data: ped,
          meaning: 'GT pedestrian occupancy ×255 (ground-truth run)',
        },
        hdmap: {
          dtype: 'uint8',
          shape: [2, rows, cols],
          data: toBytes(hd, 0, 2, cells),
          meaning: 'GT HD map ×255 (ground-truth run)',
        },
        costVolume: {
          dtype: 'uint8',
          shape: [F, rows, cols],
          data: costBytes,
          scale: 1 / 255,
          meaning: 'stand-in cost: GT occupancy blurred over ±2 m (ground-truth run, no cost head)',
        },
        gtSegmentation: { dtype: 'uint8', shape: [F + 1, rows, cols], data: gtSeg },
        gtPedestrian: { dtype: 'uint8', shape: [F + 1, rows, cols], data: gtPed },
        gtHdmap: { dtype: 'uint8', shape: [2, rows, cols], data: hd.slice() },
        gtTrajectory: {
          dtype: 'float32',
          shape: [F + 1, 3],
          data: sample.gtTrajectory.data.slice(0, 3 * (F + 1)),
        },
        command: {
          dtype: 'int32',
          shape: [1],
          data: Int32Array.of(PLANNING_COMMANDS.indexOf(sample.command)),
        },
      };
      // SAD's sampler (seeded per sample) and cost function on the GT maps: the candidates the planners choose from.
      if (sample.samplerInputs) {
        const set = sampleTrajectories(sample.samplerInputs, numpyRandomState(i), {
          sampleNum,
          nFutureFrames: F,
        });
        const [start, end] = commandThird(sample.command, sampleNum);
        const third = set.data.slice(start * F * 3, end * F * 3);
        const scored = costFunction.score(third, end - start, F, {
          occupancy: Float32Array.from(occupancy),
          hdmap: { data: channelsLast(arrays.hdmap.data, 2, cells, 1 / 255), channels: 'masks' },
          costVolume: Float32Array.from(costBytes, (b) => b / 255),
        });
        const totalCost = scored.total ?? new Float32Array(end - start);
        arrays.candidates = { dtype: 'float32', shape: [end - start, F, 3], data: third };
        arrays.candidateCosts = { dtype: 'float32', shape: [end - start], data: totalCost };
      }
      const frame: DecodedFrame = {
        token: sample.sampleTokens[S - 1],
        header: { token: sample.sampleTokens[S - 1], arrays: [] },
        arrays: new Map(
          Object.entries(arrays).map(([name, a]) => [
            name,
            {
              dtype: a.dtype,
              shape: [...a.shape],
              data: a.data,
              scale: a.scale ?? 1,
              meaning: a.meaning ?? name,
            },
          ]),
        ),
      };
      const observation = observationFromFrame(frame, {
        nFuture: F,
        rows,
        cols,
        egoState: {
          v0Mps: sample.samplerInputs?.v0Mps,
          steeringRad: sample.samplerInputs?.steeringRad,
          history: [],
        },
      });
      const plan = await plannerInstance.plan(observation);
      const planned = Float32Array.from(plan.trajectory.flat());
      const selected = typeof plan.meta.selectedIndex === 'number' ? plan.meta.selectedIndex : -1;
      const third = arrays.candidates ? commandThird(sample.command, sampleNum)[0] : 0;
      arrays.plannedTrajectory = { dtype: 'float32', shape: [F, 3], data: planned };
      arrays.selectedIndex = {
        dtype: 'int32',
        shape: [1],
        data: Int32Array.of(selected >= 0 ? selected - third : -1),
        meaning: 'index of the chosen candidate within candidates, [1] (−1: the planner drew its own path)',
      };
      const result = planning.update({
        plannedTrajectory: planned,
        gtTrajectory: gtFuture(sample, F),
        gtOccupancy: occupancy,
        pointDims: 3,
      });
      const present = dataset.nusc.get('sample', sample.sampleTokens[S - 1]);
      await writer.addFrame(
        {
          token: present.token,
          sceneToken: present.scene_token,
          sceneName: sample.sceneName,
          timestampUs: present.timestamp,
          scalars: {
            l2M: horizonMeans(result.l2M, F),
            objCol: horizonMeans(result.objCol, F),
            objBoxCol: horizonMeans(result.objBoxCol, F),
          },
        },
        { arrays },
      );
      options.onProgress?.(i + 1, total);
    }
  } finally {
    await plannerInstance.dispose();
    costFunction.dispose();
  }
  const computed = planning.compute();
  const entries: MetricEntry[] = [];
  const [veh, ped] = [iouVehicle.compute()[1], iouPedestrian.compute()[1]];
  entries.push({
    metric: 'iou',
    class: 'vehicle',
    value: veh,
    unit: 'fraction',
    convention: 'sad-reference',
    note: 'GT vs GT',
  });
  entries.push({
    metric: 'iou',
    class: 'pedestrian',
    value: ped,
    unit: 'fraction',
    convention: 'sad-reference',
    note: 'GT vs GT',
  });
  for (const h of computed.horizons) {
    const value = (v: number) => (Number.isFinite(v) ? v : null);
    entries.push({
      metric: 'l2',
      value: value(h.l2M),
      unit: 'm',
      convention: h.convention,
      horizonS: h.horizonS,
    });
    entries.push({
      metric: 'obj_col',
      value: value(h.objColRate),
      unit: 'fraction',
      convention: h.convention,
      horizonS: h.horizonS,
    });
    entries.push({
      metric: 'obj_box_col',
      value: value(h.objBoxColRate),
      unit: 'fraction',
      convention: h.convention,
      horizonS: h.horizonS,
    });
  }
  await writer.writeMetrics({ schema: 'spikedrive-metrics', version: 1, samples: computed.samples, entries });
  if (!options.signal?.aborted) await writer.complete();
  return writer.frames.length;
}
