// The training objective of the reference trainer (`TrainingModule.shared_step`, is_train): each enabled task loss
// weighted by its learned uncertainty, L/(2e^w) + 0.5w, summed; planning on GT occupancy and the GT HD map.
import * as tf from '@tensorflow/tfjs';
import type { UniformSource } from '../planning/numpy.ts';
import { type ForwardContext, SnnModule } from '../snn/index.ts';
import type { PreparedBatch } from './batch.ts';
import type { SadConfig } from './config.ts';
import { hdmapLoss, segmentationLoss, spatialRegressionLoss, uncertaintyWeighted } from './losses.ts';
import type { SadModel, SadOutput } from './model.ts';

/** The reference's learned loss weights (attributes of `TrainingModule.model`, so these names in its state_dict). */
export const LOSS_WEIGHT_NAMES = [
  'segmentation_weight',
  'pedestrian_weight',
  'hdmap_weight',
  'centerness_weight',
  'offset_weight',
  'flow_weight',
  'planning_weight',
] as const;
export type LossWeightName = (typeof LOSS_WEIGHT_NAMES)[number];

/** The enabled uncertainty weights w_k (init 0), as trainable scalars named as in the reference checkpoint. */
export class LossWeights extends SnnModule {
  readonly kind = 'loss_weights';
  readonly weights = new Map<LossWeightName, tf.Variable>();

  constructor(config: SadConfig) {
    super();
    const on: Record<LossWeightName, boolean> = {
      segmentation_weight: true,
      pedestrian_weight: config.SEMANTIC_SEG.PEDESTRIAN.ENABLED,
      hdmap_weight: config.SEMANTIC_SEG.HDMAP.ENABLED,
      centerness_weight: config.INSTANCE_SEG.ENABLED,
      offset_weight: config.INSTANCE_SEG.ENABLED,
      flow_weight: config.INSTANCE_FLOW.ENABLED,
      planning_weight: config.PLANNING.ENABLED,
    };
    for (const name of LOSS_WEIGHT_NAMES) {
      if (on[name]) this.weights.set(name, this.addParam(name, tf.scalar(0), 'plain', true));
    }
    this.setPipelineModule('training');
  }

  get(name: LossWeightName): tf.Variable {
    const w = this.weights.get(name);
    if (w === undefined) throw new Error(`loss weight ${name} is not enabled`);
    return w;
  }
}

export interface ObjectiveResult {
  total: tf.Scalar;
  /** Each weighted term and each raw task loss, by name (scalars the caller frees). */
  terms: Record<string, tf.Scalar>;
}

/**
 * The summed training loss of one batch. `output` is the model's forward in training mode; the planner runs here
 * (on GT occupancy vehicle ∨ pedestrian over the future frames and the GT HD map, as the reference trainer).
 */
export function trainingObjective(
  model: SadModel,
  output: SadOutput,
  batch: PreparedBatch,
  weights: LossWeights,
  plannerRng: UniformSource,
  ctx: ForwardContext = {},
): ObjectiveResult {
  const cfg = model.config;
  const s = model.receptiveField;
  const discount = cfg.FUTURE_DISCOUNT;
  const terms: Record<string, tf.Scalar> = {};
  const add = (name: LossWeightName, key: string, raw: tf.Scalar) => {
    terms[key] = raw;
    terms[`${key}_weighted`] = uncertaintyWeighted(raw, weights.get(name));
  };
  const seg = cfg.SEMANTIC_SEG;
  add(
    'segmentation_weight',
    'segmentation',
    segmentationLoss(output.segmentation, batch.labels.segmentation, {
      classWeights: seg.VEHICLE.WEIGHTS,
      useTopK: seg.VEHICLE.USE_TOP_K,
      topKRatio: seg.VEHICLE.TOP_K_RATIO,
      futureDiscount: discount,
      nPresent: s,
    }),
  );
  if (seg.PEDESTRIAN.ENABLED && output.pedestrian && batch.labels.pedestrian) {
    add(
      'pedestrian_weight',
      'pedestrian',
      segmentationLoss(output.pedestrian, batch.labels.pedestrian, {
        classWeights: seg.PEDESTRIAN.WEIGHTS,
        useTopK: seg.PEDESTRIAN.USE_TOP_K,
        topKRatio: seg.PEDESTRIAN.TOP_K_RATIO,
        futureDiscount: discount,
        nPresent: s,
      }),
    );
  }
  if (seg.HDMAP.ENABLED && output.hdmap && batch.labels.hdmap) {
    add(
      'hdmap_weight',
      'hdmap',
      hdmapLoss(output.hdmap, batch.labels.hdmap, {
        classWeights: seg.HDMAP.WEIGHTS,
        trainWeights: seg.HDMAP.TRAIN_WEIGHT,
        useTopK: seg.HDMAP.USE_TOP_K,
        topKRatio: seg.HDMAP.TOP_K_RATIO,
      }),
    );
  }
  const ignoreIndex = cfg.DATASET.IGNORE_INDEX;
  if (cfg.INSTANCE_SEG.ENABLED && output.instanceCenter && batch.labels.centerness) {
    add(
      'centerness_weight',
      'instance_center',
      spatialRegressionLoss(output.instanceCenter, batch.labels.centerness, {
        norm: 2,
        ignoreIndex,
        futureDiscount: discount,
        nPresent: s,
      }),
    );
  }
  if (cfg.INSTANCE_SEG.ENABLED && output.instanceOffset && batch.labels.offset) {
    add(
      'offset_weight',
      'instance_offset',
      spatialRegressionLoss(output.instanceOffset, batch.labels.offset, {
        norm: 1,
        ignoreIndex,
        futureDiscount: discount,
        nPresent: s,
      }),
    );
  }
  if (cfg.INSTANCE_FLOW.ENABLED && output.instanceFlow && batch.labels.flow) {
    add(
      'flow_weight',
      'instance_flow',
      spatialRegressionLoss(output.instanceFlow, batch.labels.flow, {
        norm: 1,
        ignoreIndex,
        futureDiscount: discount,
        nPresent: s,
      }),
    );
  }
  if (model.planning && output.costvolume && output.camFront && batch.labels.hdmap) {
    const planning = model.planning;
    const { size: b, rows: x, cols: y, frames } = batch;
    const f = frames - s;
    const costVolume = tf.tidy(() =>
      tf.slice(output.costvolume as tf.Tensor, [0, s, 0, 0, 0], [b, f, x, y, 1]),
    );
    const occupancy = tf.tidy(() => {
      const future = (t: tf.Tensor) => tf.slice(t, [0, s, 0, 0], [b, f, x, y]);
      const vehicle = tf.greater(future(batch.labels.segmentation), 0);
      const ped = batch.labels.pedestrian ? tf.greater(future(batch.labels.pedestrian), 0) : vehicle;
      return tf.cast(tf.logicalOr(vehicle, ped), 'float32');
    });
    const hdmap = tf.tidy(() => tf.cast(batch.labels.hdmap as tf.Tensor, 'float32'));
    const planned = planning.forward(
      {
        frontFeature: output.camFront,
        samplerInputs: batch.samplerInputs,
        rng: plannerRng,
        commands: batch.commands,
        costVolume,
        occupancy,
        hdmap,
        targetPoints: batch.targetPoints,
        gtTrajectory: batch.labels.gtTrajectory,
      },
      ctx,
    );
    tf.dispose([costVolume, occupancy, hdmap, planned.trajectory, planned.selected]);
    if (planned.loss) {
      add('planning_weight', 'planning', planned.loss.total);
      terms.planning_max_margin = planned.loss.maxMargin;
      terms.planning_imitation = planned.loss.imitation;
    }
  }
  const weighted = Object.entries(terms)
    .filter(([k]) => k.endsWith('_weighted'))
    .map(([, v]) => v);
  const total = tf.tidy(() => tf.addN(weighted) as tf.Scalar);
  return { total, terms };
}
