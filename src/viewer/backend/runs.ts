// A run folder opened by the viewer: its summary (re-read while the run is still being written), frames by sample
// token, per-frame IoU counts for the running-IoU plot, and the energy of one frame under any hardware profile
// (recomputed from the frame's activity counts where the run stored them).
import { join } from 'node:path';
import {
  COUNT_FIELDS,
  computeEnergy,
  ENERGY_METHODS,
  type EnergyMethod,
  getHardwareProfile,
} from '../../energy/index.ts';
import { type DecodedFrame, decodeFrame, type FrameIndexEntry, frameArray } from '../../eval/run-format.ts';
import type { ActivityRecord, LayerActivity } from '../../snn/activity.ts';
import { SpikedriveError } from '../../util/index.ts';
import type { EnergyBreakdown, RunInfo, RunSeries } from '../api/protocol.ts';
import { type RunFolder, readFrameBytes, readRunFolder } from '../run/folder.ts';

/** Activity fields a frame may store per layer beyond COUNT_FIELDS (flags as 0/1). */
export const ACTIVITY_EXTRA_FIELDS = [
  'timeSteps',
  'batch',
  'inputIsSpiking',
  'inputRepeatedOverTime',
  'calls',
] as const;

/** Confusion counts [tp, fp, fn] of class 1 over frames present…future, from probabilities ×255 vs 0/1 labels. */
export function confusionCounts(pred: Uint8Array, gt: Uint8Array): [number, number, number] {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < pred.length; i++) {
    // argmax over the two classes of a probability p×255: class 1 where p > 0.5.
    const p = pred[i] > 127;
    const g = gt[i] === 1;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  return [tp, fp, fn];
}

export class RunSession {
  readonly runId: string;
  readonly dir: string;
  #folder: RunFolder;
  #byToken = new Map<string, FrameIndexEntry>();
  readonly #series = new Map<
    string,
    { vehicle: [number, number, number]; pedestrian: [number, number, number] }
  >();
  datasetId: string | null = null;

  private constructor(runId: string, folder: RunFolder) {
    this.runId = runId;
    this.dir = folder.dir;
    this.#folder = folder;
    this.#reindex();
  }

  static async open(runId: string, dir: string): Promise<RunSession> {
    return new RunSession(runId, await readRunFolder(dir));
  }

  #reindex(): void {
    this.#byToken = new Map(this.#folder.index.map((e) => [e.token, e]));
  }

  get folder(): RunFolder {
    return this.#folder;
  }

  /** Re-reads the JSON files of a run that is still being written. */
  async refresh(): Promise<void> {
    if (this.#folder.manifest.status === 'complete') return;
    this.#folder = await readRunFolder(this.dir);
    this.#reindex();
  }

  info(): RunInfo {
    const f = this.#folder;
    const m = f.manifest;
    return {
      runId: this.runId,
      dir: this.dir,
      label: m.label ?? `${m.planner.name} · ${m.preset ?? m.configHash.slice(0, 8)} · ${m.dataset.split}`,
      status: m.status,
      manifest: m as RunInfo['manifest'],
      frames: f.index.map((e) => ({
        token: e.token,
        sceneToken: e.sceneToken,
        sceneName: e.sceneName,
        timestampUs: e.timestampUs,
        index: e.index,
        scalars: e.scalars,
      })),
      metrics: f.metrics,
      energy: f.energy
        ? {
            method: f.energy.method,
            profile: { id: f.energy.profile.id, name: f.energy.profile.name },
            annProfileId: f.energy.annProfileId,
            totalJ: f.energy.totalJ,
            annEquivalentJ: f.energy.annEquivalentJ,
            annToSnnRatio: f.energy.annToSnnRatio,
            modules: f.energy.modules.map((x) => ({
              module: x.module,
              energyJ: x.energyJ,
              annEquivalentJ: x.annEquivalentJ,
            })),
            notes: f.energy.notes ?? [],
          }
        : null,
      datasetId: this.datasetId,
      warnings: f.warnings,
    };
  }

  entry(token: string): FrameIndexEntry {
    const e = this.#byToken.get(token);
    if (!e) {
      throw new SpikedriveError(`run ${this.dir} has no frame for sample ${token}`, {
        subject: `sample#${token}`,
        fix: 'Pick a sample listed in the run (the first and last frames of a scene have no SAD window).',
      });
    }
    return e;
  }

  async frameBytes(token: string): Promise<Uint8Array> {
    return readFrameBytes(this.dir, this.entry(token));
  }

  async frame(token: string): Promise<DecodedFrame> {
    return decodeFrame(await this.frameBytes(token), join(this.dir, 'frames', this.entry(token).file));
  }

  /** Per-frame IoU counts (cached per token; a running run adds what is new). */
  async series(): Promise<RunSeries> {
    await this.refresh();
    const tokens = this.#folder.index.map((e) => e.token);
    const out: RunSeries = { runId: this.runId, tokens, iouCounts: { vehicle: [], pedestrian: [] } };
    for (const token of tokens) {
      let counts = this.#series.get(token);
      if (!counts) {
        const frame = await this.frame(token);
        const pair = (pred: string, gt: string): [number, number, number] => {
          const p = frameArray<Uint8Array>(frame, pred, 'uint8');
          const g = frameArray<Uint8Array>(frame, gt, 'uint8');
          return p && g && p.data.length === g.data.length ? confusionCounts(p.data, g.data) : [0, 0, 0];
        };
        counts = {
          vehicle: pair('segmentation', 'gtSegmentation'),
          pedestrian: pair('pedestrian', 'gtPedestrian'),
        };
        this.#series.set(token, counts);
      }
      out.iouCounts.vehicle.push(counts.vehicle);
      out.iouCounts.pedestrian.push(counts.pedestrian);
    }
    return out;
  }

  /** One frame's energy under a profile: recomputed from stored activity counts, or the stored energy as is. */
  async frameEnergy(token: string, profileId: string): Promise<EnergyBreakdown> {
    const frame = await this.frame(token);
    const names = frame.header.layerNames ?? [];
    const modules = frame.header.layerModules ?? names.map(() => 'other');
    const rates = frameArray<Float32Array>(frame, 'firingRates', 'float32');
    const stored = frameArray<Float32Array>(frame, 'energyJ', 'float32');
    const activity = frameArray<Float32Array>(frame, 'activity', 'float32');
    const runProfile = this.#folder.manifest.energyProfile;
    const method = (this.#folder.energy?.method ?? 'sad-paper') as EnergyMethod;
    if (activity && frame.header.activityFields && names.length > 0) {
      const fields = frame.header.activityFields;
      const kinds = (frame.header as { layerKinds?: string[] }).layerKinds ?? names.map(() => 'conv2d');
      const K = fields.length;
      const layers: LayerActivity[] = names.map((name, l) => {
        const value = (field: string): number => {
          const k = fields.indexOf(field);
          return k < 0 ? 0 : activity.data[l * K + k];
        };
        const layer: Record<string, unknown> = { name, module: modules[l], kind: kinds[l] };
        for (const f of COUNT_FIELDS) layer[f] = value(f);
        layer.timeSteps = Math.max(1, Math.round(value('timeSteps')));
        layer.batch = Math.max(1, Math.round(value('batch')));
        layer.inputIsSpiking = value('inputIsSpiking') > 0;
        if (fields.includes('inputRepeatedOverTime'))
          layer.inputRepeatedOverTime = value('inputRepeatedOverTime') > 0;
        if (fields.includes('calls')) layer.calls = Math.max(1, Math.round(value('calls')));
        return layer as unknown as LayerActivity;
      });
      const record: ActivityRecord = {
        layers,
        boundaryBits: ((frame.header as { boundaryBits?: Record<string, number> }).boundaryBits ??
          {}) as Record<string, number>,
      };
      const profile = getHardwareProfile(profileId);
      const report = computeEnergy(record, {
        method: ENERGY_METHODS.includes(method) ? method : 'sad-paper',
        profile,
        repeatedInputPrefixes: ['encoder.'],
      });
      return {
        profile: {
          id: profile.id,
          name: profile.name,
          technology: profile.technology,
          estimate: profile.estimate,
        },
        method: report.method,
        totalJ: report.totalJ,
        annEquivalentJ: report.annEquivalentJ,
        modules: report.modules.map((m) => ({
          module: m.module,
          energyJ: m.energyJ,
          annEquivalentJ: m.annEquivalentJ,
        })),
        layers: report.layers.map((l, i) => ({
          name: l.name,
          module: l.module,
          energyJ: l.energyJ,
          firingRate: rates?.data[i] ?? 0,
        })),
        source: 'recomputed',
        notes: report.notes,
      };
    }
    if (!stored || names.length === 0) {
      throw new SpikedriveError(`frame ${token} of ${this.dir} holds no energy data`, {
        subject: `sample#${token}`,
        fix: 'Runs from `spikedrive eval` with a model store per-layer energy; ground-truth runs have none.',
      });
    }
    if (profileId !== runProfile) {
      throw new SpikedriveError(
        `this run stores energy under "${runProfile}" only (no activity counts to recompute "${profileId}")`,
        {
          subject: profileId,
          fix: `Choose the profile "${runProfile}", or re-run \`spikedrive eval\` with activity counts.`,
        },
      );
    }
    const byModule = new Map<string, number>();
    let total = 0;
    names.forEach((_, l) => {
      total += stored.data[l];
      byModule.set(modules[l], (byModule.get(modules[l]) ?? 0) + stored.data[l]);
    });
    // The ANN equivalent scales with the run's aggregate ratio, which exists once energy.json is written (at the
    // end of a run); before that it is unknown (NaN, which crosses the API as null and shows as a dash).
    const annShare =
      this.#folder.energy && this.#folder.energy.totalJ > 0
        ? this.#folder.energy.annEquivalentJ / this.#folder.energy.totalJ
        : Number.NaN;
    return {
      profile: {
        id: runProfile,
        name: this.#folder.energy?.profile.name ?? runProfile,
        technology: '',
        estimate: false,
      },
      method,
      totalJ: total,
      annEquivalentJ: total * annShare,
      modules: [...byModule].map(([module, energyJ]) => ({
        module,
        energyJ,
        annEquivalentJ: energyJ * annShare,
      })),
      layers: names.map((name, l) => ({
        name,
        module: modules[l],
        energyJ: stored.data[l],
        firingRate: rates?.data[l] ?? 0,
      })),
      source: 'stored',
      notes: [
        Number.isNaN(annShare)
          ? 'ANN equivalent: shown when the run is complete (scaled from its aggregate ratio; no per-frame counts stored).'
          : 'ANN equivalent scaled from the run’s aggregate ratio (no per-frame counts stored).',
      ],
    };
  }
}
