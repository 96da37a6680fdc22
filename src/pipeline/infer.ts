// One-sample inference with a report: per-module outputs, latency and spike activity. With no dataset or
// checkpoint given it uses the demo world and the shipped model.
import * as tf from '@tensorflow/tfjs';
import { openSadDataset, sadDataOptionsFromConfig } from '../../data-loaders/sad/index.ts';
import { ensureDemoDataset } from '../../data-loaders/synthetic/index.ts';
import { rollUpActivity } from '../energy/index.ts';
import { type BackendInfo, backendInfo, Instrument } from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import { createRng } from '../util/rng.ts';
import { prepareBatch } from './batch.ts';
import { disposeSadOutput, type SadModel } from './model.ts';
import { openModel } from './shipped.ts';

export interface InferOptions {
  /** Dataset root; default: the demo world (generated on first use). */
  dataroot?: string | null;
  version?: string | null;
  /** `train` or `val` split of the release (default val). */
  split?: 'train' | 'val';
  /** Present-frame sample token; default the split's first sample (or `index`). */
  sample?: string | null;
  index?: number;
  checkpoint?: string | null;
  /** Config for a bare (reference-exported) checkpoint. */
  config?: string | null;
  /** Seeds the planner's candidate sampler (default the config's SEED). */
  seed?: number;
  /** Forward passes to time (the median is reported; the first warms up). Default 3. */
  runs?: number;
  /** Receives progress lines (demo generation, loading). */
  log?: (line: string) => void;
  /** Called once the model is open (`--offload` installs its back ends here); what it returns runs at the end. */
  prepareModel?: (model: SadModel) => Promise<(() => void) | undefined>;
}

export interface ModuleActivity {
  /** Output spikes / output slots of the module's spiking layers. */
  firingRate: number;
  synapticOps: number;
  denseMacs: number;
  neuronUpdates: number;
}

export interface InferReport {
  sampleToken: string;
  scene: string;
  dataroot: string;
  checkpoint: string;
  config: string;
  backend: BackendInfo;
  command: string;
  /** Median wall ms over the timed runs, per module and in total. */
  latencyMs: Record<string, number>;
  /** Frames per second of the whole forward (+ planning). */
  framesPerSecond: number;
  outputs: {
    bevCells: [number, number];
    cellSizeM: number;
    /** Per frame from the present on: cells predicted occupied by vehicles / pedestrians. */
    vehicleCells: number[];
    pedestrianCells: number[] | null;
    /** Fraction of cells predicted drivable / lane divider (present). */
    drivableFraction: number | null;
    laneFraction: number | null;
    /** Cost volume of the future frames: min / mean / max. */
    costVolume: { min: number; mean: number; max: number } | null;
  };
  /** Planned waypoints [x right, y forward] (m) per 0.5 s, and the GT. */
  trajectory: [number, number][] | null;
  gtTrajectory: [number, number][];
  l2FinalM: number | null;
  activity: { modules: Record<string, ModuleActivity>; boundaryBits: Record<string, number> };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs the model on one sample and reports what it produced and what it cost. */
export async function runInference(options: InferOptions = {}): Promise<InferReport> {
  const log = options.log ?? (() => {});
  let dataroot = options.dataroot ?? null;
  let version = options.version ?? null;
  if (dataroot === null) {
    const demo = await ensureDemoDataset({
      onProgress: (p) => {
        if (p.phase === 'keyframes' && p.done % 40 === 0) log(`demo world: ${p.done}/${p.total} keyframes`);
      },
    });
    dataroot = demo.dataroot;
    version = demo.version;
  }
  if (version === null) {
    throw new SpikedriveError('--version is needed with --dataroot', {
      subject: '--version',
      fix: 'Pass the release folder name, e.g. --version v1.0-mini.',
    });
  }
  const opened = openModel({ checkpoint: options.checkpoint, config: options.config });
  const { model, config } = opened;
  let release: (() => void) | undefined;
  try {
    release = await options.prepareModel?.(model);
    const dataset = openSadDataset({
      dataroot,
      version,
      split: options.split ?? 'val',
      options: sadDataOptionsFromConfig(config),
      hdmapFrames: 'present',
    });
    if (dataset.length === 0) {
      throw new SpikedriveError(
        `${dataroot} (${version}, ${options.split ?? 'val'}) has no complete SAD samples`,
        {
          subject: dataroot,
          fix: `Each sample needs ${config.TIME_RECEPTIVE_FIELD + config.N_FUTURE_FRAMES} consecutive keyframes of one scene.`,
        },
      );
    }
    const ref = options.sample ?? options.index ?? 0;
    const sample = await dataset.getSample(ref);
    const batch = prepareBatch([sample], config);
    const runs = Math.max(1, options.runs ?? 3);
    const laps: Record<string, number[]> = {};
    const record = (k: string, v: number) => {
      laps[k] ??= [];
      laps[k].push(v);
    };
    let report: InferReport | null = null;
    try {
      for (let run = 0; run < runs + 1; run++) {
        const last = run === runs;
        // The last run is instrumented (counting is not free); the timed runs before it are not.
        const instrument = last ? new Instrument() : null;
        const timings: Partial<Record<'perception' | 'prediction' | 'decoder', number>> = {};
        const t0 = performance.now();
        const output = model.forward(batch.input, { timings }, { instrument });
        const t1 = performance.now();
        const plan = model.planning
          ? model.plan(
              output,
              {
                commands: batch.commands,
                samplerInputs: batch.samplerInputs,
                rng: createRng(`${options.seed ?? config.SEED}/infer`),
                targetPoints: batch.targetPoints,
              },
              { instrument },
            )
          : null;
        const t2 = performance.now();
        if (run > 0 && !last) {
          for (const [k, v] of Object.entries(timings)) record(k, v);
          if (plan) record('planning', t2 - t1);
          record('total', t2 - t0);
        }
        if (last) {
          if (runs === 1 || Object.keys(laps).length === 0) {
            for (const [k, v] of Object.entries(timings)) record(k, v);
            if (plan) record('planning', t2 - t1);
            record('total', t2 - t0);
          }
          report = summarise(output, plan?.trajectory ?? null, instrument as Instrument);
        }
        if (plan) tf.dispose([plan.trajectory, plan.selected]);
        disposeSadOutput(output);
      }
    } finally {
      batch.dispose();
    }

    function summarise(
      output: ReturnType<typeof model.forward>,
      trajectory: tf.Tensor | null,
      instrument: Instrument,
    ): InferReport {
      const s = config.TIME_RECEPTIVE_FIELD;
      const [, frames, x, y] = output.segmentation.shape as number[];
      const hw = x * y;
      const count = (logits: tf.Tensor) => {
        const fg = tf.tidy(() => {
          const [bg, f] = tf.split(logits, 2, -1);
          return tf.cast(tf.greater(f, bg), 'int32');
        });
        const data = fg.dataSync();
        fg.dispose();
        const out: number[] = [];
        for (let t = s - 1; t < frames; t++) {
          let n = 0;
          for (let k = 0; k < hw; k++) n += data[t * hw + k];
          out.push(n);
        }
        return out;
      };
      let drivable: number | null = null;
      let lane: number | null = null;
      if (output.hdmap) {
        const d = output.hdmap.dataSync();
        let lanes = 0;
        let drive = 0;
        for (let k = 0; k < hw; k++) {
          if (d[k * 4 + 1] > d[k * 4]) lanes++;
          if (d[k * 4 + 3] > d[k * 4 + 2]) drive++;
        }
        drivable = drive / hw;
        lane = lanes / hw;
      }
      let costVolume: InferReport['outputs']['costVolume'] = null;
      if (output.costvolume && frames > s) {
        const cv = output.costvolume.dataSync();
        let min = Number.POSITIVE_INFINITY;
        let max = Number.NEGATIVE_INFINITY;
        let sum = 0;
        for (let k = s * hw; k < frames * hw; k++) {
          min = Math.min(min, cv[k]);
          max = Math.max(max, cv[k]);
          sum += cv[k];
        }
        costVolume = { min, mean: sum / ((frames - s) * hw), max };
      }
      const rolled = rollUpActivity(instrument.finishSync());
      const modules: Record<string, ModuleActivity> = {};
      for (const m of rolled.modules) {
        modules[m.module] = {
          firingRate: m.outputFiringRate ?? 0,
          synapticOps: m.synapticOps,
          denseMacs: m.denseMacs,
          neuronUpdates: m.neuronUpdates,
        };
      }
      const gt = batch.host.gtTrajectory;
      const f = gt.length / 3 - 1;
      const gtPoints: [number, number][] = [];
      for (let k = 1; k <= f; k++) gtPoints.push([gt[k * 3], gt[k * 3 + 1]]);
      let points: [number, number][] | null = null;
      let l2: number | null = null;
      if (trajectory) {
        const t = trajectory.dataSync();
        points = [];
        for (let k = 0; k < f; k++) points.push([t[k * 3], t[k * 3 + 1]]);
        const last = points[f - 1];
        const g = gtPoints[f - 1];
        l2 = Math.hypot(last[0] - g[0], last[1] - g[1]);
      }
      return {
        sampleToken: batch.tokens[0],
        scene: sample.sceneName,
        dataroot: dataroot as string,
        checkpoint: opened.source,
        config: config.TAG,
        backend: backendInfo(),
        command: batch.commands[0],
        latencyMs: {},
        framesPerSecond: 0,
        outputs: {
          bevCells: [x, y],
          cellSizeM: config.LIFT.X_BOUND[2],
          vehicleCells: count(output.segmentation),
          pedestrianCells: output.pedestrian ? count(output.pedestrian) : null,
          drivableFraction: drivable,
          laneFraction: lane,
          costVolume,
        },
        trajectory: points,
        gtTrajectory: gtPoints,
        l2FinalM: l2,
        activity: {
          modules,
          boundaryBits: Object.fromEntries(rolled.boundaries.map((b) => [b.link, b.bits])),
        },
      };
    }

    const out = report as unknown as InferReport;
    out.latencyMs = Object.fromEntries(
      Object.entries(laps).map(([k, v]) => [k, Number(median(v).toFixed(1))]),
    );
    out.framesPerSecond = Number((1000 / out.latencyMs.total).toFixed(3));
    return out;
  } finally {
    release?.();
    model.dispose();
  }
}

/** The report as terminal text. */
export function formatInferReport(r: InferReport): string {
  const lines: string[] = [];
  const fmt = (n: number) =>
    Math.abs(n) >= 1e9
      ? `${(n / 1e9).toFixed(2)} G`
      : Math.abs(n) >= 1e6
        ? `${(n / 1e6).toFixed(2)} M`
        : `${Math.round(n)}`;
  lines.push(`sample ${r.sampleToken} (${r.scene}), command ${r.command}`);
  lines.push(
    `model ${r.checkpoint} (${r.config}), back end ${r.backend.name} (${r.backend.threads} threads)`,
  );
  lines.push('');
  lines.push(
    `outputs (BEV ${r.outputs.bevCells[0]}×${r.outputs.bevCells[1]} cells of ${r.outputs.cellSizeM} m):`,
  );
  lines.push(`  vehicle cells, present→future: ${r.outputs.vehicleCells.join(' ')}`);
  if (r.outputs.pedestrianCells)
    lines.push(`  pedestrian cells, present→future: ${r.outputs.pedestrianCells.join(' ')}`);
  if (r.outputs.drivableFraction !== null) {
    lines.push(
      `  HD map: drivable ${(100 * r.outputs.drivableFraction).toFixed(1)} % of cells, lane divider ${(100 * (r.outputs.laneFraction ?? 0)).toFixed(1)} %`,
    );
  }
  if (r.outputs.costVolume) {
    const c = r.outputs.costVolume;
    lines.push(
      `  cost volume (future): min ${c.min.toFixed(3)}, mean ${c.mean.toFixed(3)}, max ${c.max.toFixed(3)}`,
    );
  }
  if (r.trajectory) {
    lines.push(
      `  planned (x right, y fwd, m): ${r.trajectory.map(([x, y]) => `(${x.toFixed(2)}, ${y.toFixed(2)})`).join(' ')}`,
    );
    lines.push(
      `  GT                         : ${r.gtTrajectory.map(([x, y]) => `(${x.toFixed(2)}, ${y.toFixed(2)})`).join(' ')}`,
    );
    lines.push(`  final-point L2: ${(r.l2FinalM ?? 0).toFixed(2)} m`);
  }
  lines.push('');
  lines.push(
    `latency (median ms): ${Object.entries(r.latencyMs)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} → ${r.framesPerSecond} frames/s`,
  );
  lines.push('');
  lines.push('spike activity (one forward):');
  for (const [name, m] of Object.entries(r.activity.modules)) {
    lines.push(
      `  ${name.padEnd(11)} firing rate ${(100 * m.firingRate).toFixed(2)} %, SOPs ${fmt(m.synapticOps)}, dense MACs ${fmt(m.denseMacs)}, neuron updates ${fmt(m.neuronUpdates)}`,
    );
  }
  const bits = Object.entries(r.activity.boundaryBits);
  if (bits.length)
    lines.push(`  module boundaries (bits): ${bits.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  return lines.join('\n');
}
